/**
 * Building blocks shared by the document schemas. Each refinement carries a readable
 * expectation ("64 lowercase hex characters"), which validation messages quote.
 *
 * Names of architectures, platforms, formats and regions are open sets (new ones appear
 * over time), so only their shape is checked, never membership in a list.
 */
import { z } from "zod";
import { isStreamName, STREAM_NAME_EXPECTATION } from "./names.ts";
import { hasControlCharacter, hasControlCharacterBesidesLayout } from "./text.ts";

export const SHA256 = /^[0-9a-f]{64}$/;

export const sha256 = z.string().regex(SHA256, { error: "a sha256 digest of 64 lowercase hex characters" });

/**
 * URLs in documents end up on the download page's `curl` lines, in `href`s and in scripts
 * that users copy, so they are held to the characters real artifact URLs use: letters,
 * digits and `. _ ~ : / % + @ = ? -`. No whitespace and no shell metacharacter (`;`, `|`,
 * `&`, `$`, backtick, quotes, `<>`, `()`, `{}`, `*`, `\`, `!`, `#`) can get through, and a
 * `%` must start a real escape. `?` is kept for signed query strings; the page quotes it.
 */
const URL_TEXT = /^https?:\/\/[A-Za-z0-9._~:%+@=-]+(?:[/?][A-Za-z0-9._~:/%+@=?-]*)?$/i;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

export const HTTP_URL_EXPECTATION =
  "an absolute https:// or http:// URL of letters, digits and . _ ~ : / % + @ = ? - only (no whitespace or shell metacharacters)";

/** An absolute http(s) URL in the strict form every document URL must have. */
export const httpUrl = z.string().refine(isHttpUrl, { error: HTTP_URL_EXPECTATION });

export function isHttpUrl(value: string): boolean {
  if (!URL_TEXT.test(value) || BAD_PERCENT.test(value)) return false;
  if (!URL.canParse(value)) return false;
  return new URL(value).hostname !== "";
}

/** A signature URL, or "" where a writer had none to give (Python --no-signatures). */
export const signatureUrl = z
  .string()
  .refine((v) => v === "" || isHttpUrl(v), { error: `${HTTP_URL_EXPECTATION}, or empty` });

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** A timestamp as upstream writes one: UTC, seconds precision, like 2024-05-31T14:21:46Z. */
export function formatTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export const rfc3339 = z.string().refine(isRfc3339, {
  error:
    "an RFC 3339 timestamp of a real instant like 2024-05-31T14:21:46Z (no leap second, no impossible date)",
});

/**
 * An RFC 3339 date-time naming a real instant. Leap seconds (`:60`) and impossible dates
 * (`2026-02-31`) are refused: JavaScript's Date rolls them over (`2026-03-03`) or fails, and
 * Go's time.Parse, which every upstream consumer uses, refuses them.
 */
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m
    .slice(1)
    .map((d) => (d === undefined ? 0 : Number(d))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  return hour <= 23 && minute <= 59 && second <= 59 && offsetHour <= 23 && offsetMinute <= 59;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A stream name (names.ts): it becomes a file name and an object key. */
export const streamName = z.string().refine(isStreamName, { error: STREAM_NAME_EXPECTATION });

export const archName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, { error: "an architecture name like x86_64 (lowercase letters, digits, _)" });

export const platformName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, {
  error: "a platform name like metal (lowercase letters, digits, . _ -)",
});

export const formatName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, { error: "a format name like raw.xz (lowercase letters, digits, . _ -)" });

export const regionName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "a region name like us-east-1 (letters, digits, . _ -)" });

export const nonEmpty = z
  .string()
  .min(1, { error: "a non-empty string" })
  .refine((v) => !hasControlCharacter(v), { error: "a string without control characters" });

/** A string that may be empty but holds no control character (a name, a project, a generator). */
export const plainText = z
  .string()
  .refine((v) => !hasControlCharacter(v), { error: "a string without control characters" });

/** GCP image, family and project names: RFC 1035 labels of up to 63 characters. */
const GCP_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
export const GCP_NAME_EXPECTATION = "a GCP name (lowercase letters, digits and -, starting with a letter)";

export function isGcpName(value: string): boolean {
  return GCP_NAME.test(value);
}

/**
 * A GCP image or family name. Installers and `machinesets --patch` paste it into
 * `projects/<project>/global/images/<name>` and shell lines, so it keeps GCP's own rule.
 */
export const gcpName = z.string().regex(GCP_NAME, { error: GCP_NAME_EXPECTATION });

/** A GCP project: a name, optionally domain-scoped (`example.com:project`); "" when Go wrote none. */
export const gcpProject = z
  .string()
  .regex(/^(?:(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?:)?[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)?$/, {
    error: "a GCP project id (lowercase letters, digits and -, optionally domain:project) or empty",
  });

/** Free text written by people (a barrier reason): lines and tabs, but no other control character. */
export const freeText = z
  .string()
  .min(1, { error: "a non-empty string" })
  .refine((v) => !hasControlCharacterBesidesLayout(v), {
    error: "text without control characters other than tab and newline",
  });

/** Release versions: FCOS `44.20260707.3.1`, RHCOS `416.94.202405291527-0`. */
export const releaseVersion = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._~+-]*$/, { error: "a release version like 44.20260707.3.1" });

/** Container image reference pinned by digest: `repo@sha256:<hex>`. */
const DIGEST_REF = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

export const digestRef = z.string().refine((v) => DIGEST_REF.test(v) && !hasControlCharacter(v), {
  error: "an image reference pinned by digest (name@sha256:<64 hex>)",
});

/** Go writes "" for a release whose KubeVirt image had no digest (stream-metadata-go has no omitempty there). */
export const digestRefOrEmpty = z
  .string()
  .refine((v) => v === "" || (DIGEST_REF.test(v) && !hasControlCharacter(v)), {
    error: "an image reference pinned by digest (name@sha256:<64 hex>) or empty",
  });

export const imageRef = z.string().refine((v) => /^\S+$/.test(v) && !hasControlCharacter(v), {
  error: "a container image reference without spaces or control characters",
});

/**
 * An artifact: where a file is, its signature and digests. Release and stream differ only
 * in how a missing uncompressed digest is written (Python None vs Go omitempty).
 */
export function artifactSchema<U extends z.ZodType>(uncompressedSha256: U) {
  return z.looseObject({
    location: httpUrl,
    // FCOS signs every artifact, RHCOS installer streams have none; Python writes "" with --no-signatures.
    signature: signatureUrl.optional(),
    sha256: sha256,
    "uncompressed-sha256": uncompressedSha256,
  });
}

/** The files of one format, in stream-metadata-go declaration order. */
export function imageFormatSchema<A extends z.ZodType>(artifact: A) {
  return z.looseObject({
    disk: artifact.optional(),
    kernel: artifact.optional(),
    initramfs: artifact.optional(),
    rootfs: artifact.optional(),
  });
}
