/**
 * Building blocks shared by the document schemas. Each refinement carries a readable
 * expectation ("64 lowercase hex characters"), which validation messages quote.
 *
 * Names of architectures, platforms, formats and regions are open sets (new ones appear
 * over time), so only their shape is checked, never membership in a list.
 */
import { z } from "zod";

export const SHA256 = /^[0-9a-f]{64}$/;
const RFC3339 =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export const sha256 = z.string().regex(SHA256, { error: "a sha256 digest of 64 lowercase hex characters" });

/** An absolute http(s) URL without whitespace, as every artifact location is. */
export const httpUrl = z.string().refine(isHttpUrl, { error: "an absolute https:// or http:// URL" });

export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(value)) return false;
  return URL.canParse(value);
}

/** A signature URL, or "" where a writer had none to give (Python --no-signatures). */
export const signatureUrl = z
  .string()
  .refine((v) => v === "" || isHttpUrl(v), { error: "an absolute https:// or http:// URL (or empty)" });

export const rfc3339 = z
  .string()
  .refine(isRfc3339, { error: "an RFC 3339 timestamp like 2024-05-31T14:21:46Z" });

export function isRfc3339(value: string): boolean {
  if (!RFC3339.test(value)) return false;
  return !Number.isNaN(Date.parse(value.replace(/:60(\.\d+)?([Zz+-])/, ":59$2")));
}

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

export const nonEmpty = z.string().min(1, { error: "a non-empty string" });

/** Release versions: FCOS `44.20260707.3.1`, RHCOS `416.94.202405291527-0`. */
export const releaseVersion = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z._~+-]*$/, { error: "a release version like 44.20260707.3.1" });

/** Container image reference pinned by digest: `repo@sha256:<hex>`. */
export const digestRef = z.string().regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, {
  error: "an image reference pinned by digest (name@sha256:<64 hex>)",
});

/** Go writes "" for a release whose KubeVirt image had no digest (stream-metadata-go has no omitempty there). */
export const digestRefOrEmpty = z
  .string()
  .refine((v) => v === "" || /^[^\s@]+@sha256:[0-9a-f]{64}$/.test(v), {
    error: "an image reference pinned by digest (name@sha256:<64 hex>) or empty",
  });

export const imageRef = z.string().regex(/^[^\s]+$/, { error: "a container image reference without spaces" });

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
