/**
 * The stub Ignition config a MachineSet boots with (Secret `userDataSecret.name`, key
 * `userData`). New boot images read only Ignition spec 3, so before it updates a boot image
 * the machine-config operator converts a spec 2 stub (upgradeStubIgnitionIfRequired in
 * openshift/machine-config-operator pkg/controller/machine-set-boot-image/helpers.go). This
 * module only finds such stubs and says so; it never converts them.
 */
import { describeValue, isPlainObject } from "../../schema/documents.ts";
import { dig, type Json } from "./types.ts";

/** The operator's MinimumAcceptableStubIgnitionSpec: a version must start with it. */
const MINIMUM_STUB_SPEC = "3";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface StubIgnition {
  secret: string;
  /** ignition.version of the stub, when it could be read. */
  version?: string;
  /** What is wrong (spec 2, unreadable, missing), as a note for the MachineSet; none when fine. */
  note?: string;
}

/** Secrets by "namespace/name" (and by name alone, for Secrets printed without a namespace). */
export function indexSecrets(secrets: readonly Json[]): Map<string, Json> {
  const index = new Map<string, Json>();
  for (const secret of secrets) {
    const name = dig(secret, "metadata", "name");
    const namespace = dig(secret, "metadata", "namespace");
    if (typeof name !== "string") continue;
    index.set(`${typeof namespace === "string" ? namespace : ""}/${name}`, secret);
  }
  return index;
}

function decodeBase64(text: string): string | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Reads the stub a Secret holds. */
export function stubIgnition(secret: Json, name: string): StubIgnition {
  const data = dig(secret, "data", "userData");
  if (typeof data !== "string")
    return { secret: name, note: `secret ${name}: data.userData is ${describeValue(data)}` };
  const text = decodeBase64(data);
  if (text === undefined)
    return { secret: name, note: `secret ${name}: data.userData is not base64 of UTF-8 text` };
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return { secret: name, note: `secret ${name}: data.userData is not an Ignition config (not JSON)` };
  }
  const version = dig(config, "ignition", "version");
  if (typeof version !== "string" || !isPlainObject(config))
    return { secret: name, note: `secret ${name}: the Ignition config has no ignition.version string` };
  if (version.startsWith(MINIMUM_STUB_SPEC)) return { secret: name, version };
  return {
    secret: name,
    version,
    note: `secret ${name} holds an Ignition spec ${version} stub; new boot images read only spec 3, so the operator converts it before it updates a boot image: convert it (or let the operator) before patching`,
  };
}

/**
 * The stub of a MachineSet: undefined when no Secrets were given; a note when the MachineSet
 * names none, or one that is not among them.
 */
export function machineSetStub(
  providerSpecValue: unknown,
  namespace: string,
  secrets: Map<string, Json> | undefined,
): StubIgnition | undefined {
  if (secrets === undefined) return undefined;
  const name = dig(providerSpecValue, "userDataSecret", "name");
  if (typeof name !== "string" || name === "")
    return { secret: "", note: "providerSpec.value.userDataSecret.name is missing" };
  const secret = secrets.get(`${namespace}/${name}`) ?? secrets.get(`/${name}`);
  if (secret === undefined) return { secret: name, note: `secret ${name} is not among the Secrets given` };
  return stubIgnition(secret, name);
}
