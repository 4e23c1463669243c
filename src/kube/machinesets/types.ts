/** What the MachineSet checks decide, shared by the platform modules. */
import { isPlainObject } from "../../schema/documents.ts";

/**
 * current: boots the stream's image; stale: boots another one the stream replaces;
 * unknown: cannot tell (region or arch not in the stream, AMI by filters, a custom image, ...);
 * not-managed: a platform whose boot image stream metadata does not name.
 */
export type MachineSetStatus = "current" | "stale" | "unknown" | "not-managed";

/** One value to replace, at `path` under `spec.template.spec.providerSpec.value`. */
export interface ImageChange {
  path: (string | number)[];
  from: unknown;
  to: unknown;
}

export interface ImageVerdict {
  status: MachineSetStatus;
  /** The boot image the MachineSet names, as one string (AMI, GCP image path, Azure URN or resource ID). */
  current?: string;
  /** The boot image the stream wants, in the same spelling. */
  wanted?: string;
  /** Why this status, in one sentence. */
  reason: string;
  notes?: string[];
  /** For a stale MachineSet: the providerSpec value to replace. */
  change?: ImageChange;
}

export type Json = Record<string, unknown>;

/** What a platform check may know beyond the stream. */
export interface PlatformCheckOptions {
  /**
   * AWS AMIs known to be RHCOS boot images (of older streams): an AMI of neither these nor the
   * stream is a custom AMI, left alone. Undefined: every AMI not wanted counts as stale.
   */
  knownAmis?: ReadonlySet<string>;
}

/** The value at `keys` below `value`, or undefined when any step is missing or not an object. */
export function dig(value: unknown, ...keys: string[]): unknown {
  let at = value;
  for (const key of keys) {
    if (!isPlainObject(at)) return undefined;
    at = at[key];
  }
  return at;
}
