/** What the MachineSet checks decide, shared by the platform modules. */

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

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `keys` below `value`, or undefined when any step is missing or not an object. */
export function dig(value: unknown, ...keys: string[]): unknown {
  let at = value;
  for (const key of keys) {
    if (!isRecord(at)) return undefined;
    at = at[key];
  }
  return at;
}

/** How a value of the wrong type is named in a reason: "a number (42)". */
export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value} (${JSON.stringify(value).slice(0, 40)})`;
}
