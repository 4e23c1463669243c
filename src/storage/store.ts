/**
 * Where published streams live: a local directory or S3-compatible object storage. Both
 * give the same guarantees, which publishing relies on:
 * - a reader sees a whole object or none, never a partial write;
 * - `putNew` creates only (CONFLICT if the key exists);
 * - `putIfMatch` replaces only the version the caller read (compare-and-swap, CONFLICT otherwise).
 * The one contract test suite (test/store-contract.ts) runs unchanged against both.
 */

export interface StoredObject {
  body: Uint8Array;
  /** Opaque version tag of exactly these bytes (sha256 on fs, the S3 ETag on S3). */
  etag: string;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

export interface Store {
  /** Human-readable location, e.g. "/srv/streams" or "s3://bucket/prefix". */
  readonly location: string;
  get(key: string): Promise<StoredObject | undefined>;
  /** The current version tag, or undefined when the key does not exist. */
  head(key: string): Promise<string | undefined>;
  /** Creates `key`; CONFLICT when it already exists. */
  putNew(key: string, body: Uint8Array, options?: PutOptions): Promise<string>;
  /**
   * Replaces `key` only if its version is still `ifMatch`; `null` means "only if it does
   * not exist yet". CONFLICT otherwise. Returns the new version tag.
   */
  putIfMatch(key: string, body: Uint8Array, ifMatch: string | null, options?: PutOptions): Promise<string>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/** Keys are relative, "/"-separated, without "." or ".." segments. */
export function checkKey(key: string): void {
  if (
    key === "" ||
    key.startsWith("/") ||
    key.split("/").some((s) => s === "" || s === "." || s === "..") ||
    key.includes("\\")
  ) {
    throw new Error(`invalid store key ${JSON.stringify(key)}`);
  }
}

export function contentTypeOf(key: string): string {
  if (key.endsWith(".json")) return "application/json";
  if (key.endsWith(".asc")) return "application/pgp-signature";
  return "application/octet-stream";
}
