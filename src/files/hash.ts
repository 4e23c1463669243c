/**
 * Content digests: the sha256 that history entries, ETags, cache files and OCI descriptors
 * name content by. One home, so every place spells a digest the same way.
 */
import { createHash } from "node:crypto";

/** The sha256 of `data` (bytes, or text as UTF-8) as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The OCI digest of `bytes`: `sha256:<hex>`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}
