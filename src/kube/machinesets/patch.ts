/**
 * JSON merge patches (RFC 7386) for stale MachineSets, and the `oc patch` line that applies
 * one. A merge patch merges objects key by key, deletes with null and replaces arrays whole,
 * so a GCP patch carries the whole `disks` list.
 */
import { isDeepEqual } from "../../canonical/equal.ts";
import { isPlainObject } from "../../schema/documents.ts";
import { escapeJsonText, shellQuote } from "../../schema/text.ts";
import type { ImageChange, Json } from "./types.ts";

export const PROVIDER_SPEC_VALUE = ["spec", "template", "spec", "providerSpec", "value"] as const;

/** The smallest merge patch that turns `from` into `to`. */
export function mergeDiff(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return to;
  const patch: Json = {};
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key)) patch[key] = value;
    else if (!isDeepEqual(from[key], value)) patch[key] = mergeDiff(from[key], value);
  }
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) patch[key] = null;
  return patch;
}

/** The merge patch of a whole MachineSet for one change of its providerSpec value. */
export function machineSetPatch(change: ImageChange): Json {
  let patch: unknown = mergeDiff(change.from, change.to);
  const path = [...PROVIDER_SPEC_VALUE, ...change.path];
  for (let i = path.length - 1; i >= 0; i--) patch = { [String(path[i])]: patch };
  return patch as Json;
}

/** A Kubernetes object name (DNS-1123 subdomain): the only names an `oc` line is printed for. */
export function isKubernetesName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

/** `oc patch machineset NAME -n NS --type merge -p '<patch>'`, ready to paste into a shell. */
export function ocPatchCommand(name: string, namespace: string, patch: Json): string {
  const json = escapeJsonText(JSON.stringify(patch));
  const ns = namespace === "" ? "" : ` -n ${shellQuote(namespace)}`;
  return `oc patch machineset ${shellQuote(name)}${ns} --type merge -p ${shellQuote(json)}`;
}
