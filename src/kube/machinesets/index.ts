/**
 * `bootstream machinesets`: which MachineSets boot the image a stream wants, the merge
 * patches that fix the stale ones, and the input rewritten with them. Follows the managed
 * boot images controller of openshift/machine-config-operator
 * (pkg/controller/machine-set-boot-image/), without touching a cluster.
 */
import type { Stream } from "../../schema/stream.ts";
import type { KubeObject, KubeObjects } from "../objects.ts";
import { machineSetArch } from "./arch.ts";
import { machineSetPatch } from "./patch.ts";
import { checkProviderSpec } from "./platforms.ts";
import type { ObjectEdit } from "./rewrite.ts";
import { dig, type Json, type MachineSetStatus } from "./types.ts";
import { indexSecrets, machineSetStub } from "./userdata.ts";

export {
  type KubeFormat,
  type KubeObject,
  type KubeObjects,
  MAX_DOCUMENTS,
  MAX_ITEMS,
  MAX_NODES,
  parseKubeObjects,
} from "../objects.ts";
export { resolveDefaultArch } from "./arch.ts";
export { streamAmis } from "./aws.ts";
export { isKubernetesName, mergeDiff, ocPatchCommand } from "./patch.ts";
export { type ObjectEdit, rewriteObjects } from "./rewrite.ts";
export type { ImageChange, MachineSetStatus } from "./types.ts";

export interface MachineSetReport {
  name: string;
  namespace: string;
  /** Where the MachineSet is in the input ("/items/2", "document 3"). */
  where: string;
  platform: string;
  arch?: string;
  /** Whether the arch came from the autoscaler annotation or the default. */
  archFrom?: "annotation" | "default";
  status: MachineSetStatus;
  current?: string;
  wanted?: string;
  reason: string;
  notes: string[];
  /** The stub Ignition config's secret and spec version, when Secrets were given. */
  userData?: { secret: string; ignitionVersion?: string };
  /** For a stale MachineSet: the JSON merge patch (RFC 7386) that fixes it. */
  patch?: Json;
}

export interface MachineSetCheck {
  reports: MachineSetReport[];
  /** One per stale MachineSet, for rewriteObjects. */
  edits: ObjectEdit[];
  /** Kinds of the other objects in the input (neither MachineSet nor Secret), once each. */
  ignoredKinds: string[];
  /** Whether stub Ignition configs were checked: false when no Secrets were given at all. */
  userDataChecked: boolean;
}

export interface MachineSetCheckOptions {
  /** The architecture of MachineSets without the autoscaler's arch annotation. */
  defaultArch: string;
  /** Secrets from elsewhere (`--user-data-secrets`); Secrets in the input are used too. */
  secrets?: readonly Json[];
  /**
   * AWS AMIs of older streams (see streamAmis): with them, an AMI of neither those nor the
   * stream is a custom AMI ("unknown"), as the operator's AllowedAMIs list decides; without,
   * every AMI but the wanted one is "stale".
   */
  knownAmis?: ReadonlySet<string>;
}

function checkOne(
  object: KubeObject,
  stream: Stream,
  options: MachineSetCheckOptions,
  secrets?: Map<string, Json>,
) {
  const ms = object.value;
  const name = dig(ms, "metadata", "name");
  const namespace = dig(ms, "metadata", "namespace");
  const base = {
    name: typeof name === "string" ? name : "",
    namespace: typeof namespace === "string" ? namespace : "",
    where: object.where,
  };
  const value = dig(ms, "spec", "template", "spec", "providerSpec", "value");
  const arch = machineSetArch(ms, options.defaultArch);
  const verdict = checkProviderSpec(
    value,
    stream,
    arch.arch,
    "error" in arch ? arch.error : undefined,
    options.knownAmis === undefined ? {} : { knownAmis: options.knownAmis },
  );
  const stub = machineSetStub(value, base.namespace, secrets);
  const notes = [...(verdict.notes ?? []), ...(stub?.note ? [stub.note] : [])];
  const report: MachineSetReport = {
    ...base,
    platform: verdict.platform,
    ...(arch.arch === undefined ? {} : { arch: arch.arch, archFrom: arch.from }),
    status: verdict.status,
    ...(verdict.current === undefined ? {} : { current: verdict.current }),
    ...(verdict.wanted === undefined ? {} : { wanted: verdict.wanted }),
    reason: typeof name === "string" ? verdict.reason : `metadata.name is missing; ${verdict.reason}`,
    notes,
    ...(stub?.secret
      ? { userData: { secret: stub.secret, ...(stub.version ? { ignitionVersion: stub.version } : {}) } }
      : {}),
    ...(verdict.change ? { patch: machineSetPatch(verdict.change) } : {}),
  };
  return { report, change: verdict.change };
}

/** Checks every MachineSet of `objects` against `stream`. */
export function checkMachineSets(
  objects: KubeObjects,
  stream: Stream,
  options: MachineSetCheckOptions,
): MachineSetCheck {
  const given = [
    ...objects.objects.filter((o) => o.kind === "Secret").map((o) => o.value),
    ...(options.secrets ?? []),
  ];
  const anySecrets = given.length > 0 || options.secrets !== undefined;
  const secrets = anySecrets ? indexSecrets(given) : undefined;
  const reports: MachineSetReport[] = [];
  const edits: ObjectEdit[] = [];
  const ignored = new Set<string>();
  for (const object of objects.objects) {
    if (object.kind !== "MachineSet") {
      if (object.kind !== "Secret") ignored.add(object.kind || "(no kind)");
      continue;
    }
    const { report, change } = checkOne(object, stream, options, secrets);
    reports.push(report);
    if (change && report.status === "stale") edits.push({ object, change });
  }
  return { reports, edits, ignoredKinds: [...ignored], userDataChecked: secrets !== undefined };
}
