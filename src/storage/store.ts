/**
 * Where published streams live: a local directory or S3-compatible object storage. Both
 * give the same guarantees, which publishing relies on:
 * - a reader sees a whole object or none, never a partial write;
 * - `putNew` creates only (CONFLICT if the key exists);
 * - `putIfMatch` replaces only the version the caller read (compare-and-swap, CONFLICT otherwise).
 * The one contract test suite (test/helpers/store-contract.ts) runs unchanged against both.
 */
import { BootstreamError } from "../errors.ts";
import { isSafeFileName } from "../schema/names.ts";

export interface StoredObject {
  body: Uint8Array;
  /** Opaque version tag of exactly these bytes (sha256 on fs, the S3 ETag on S3). */
  etag: string;
}

/** Lets a caller abandon a read (serve aborts store calls that pass their deadline). */
export interface ReadOptions {
  signal?: AbortSignal;
}

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

/**
 * A file an interrupted writer of a directory store left behind: a lock (`<key>.lock`) or a
 * temporary (`<key>.<pid>@<host>.<random>.tmp`). Object storage has none (a PUT is atomic).
 */
export interface Leftover {
  /** Store-relative name, like a key: `streams/stable.json.lock`. */
  key: string;
  kind: "lock" | "temporary";
  /** Where it is on this machine, for the operator who may remove it by hand. */
  path: string;
  ageMs: number;
  /** The writer that made it, when recorded (locks and temporaries record pid and host). */
  owner?: { pid: number; host: string };
  /** True when no live writer can own it (its process is gone, or it is older than STALE_AFTER_MS). */
  stale: boolean;
}

/** A lock or temporary older than this belongs to no live writer (writes take milliseconds). */
export const STALE_AFTER_MS = 30_000;

export interface Store {
  /** Human-readable location, e.g. "/srv/streams" or "s3://bucket/prefix". */
  readonly location: string;
  /**
   * Fails (IO, or UNAUTHORIZED) unless the store exists and can be read: a directory that is
   * there, or a bucket that answers. Commands that only read (serve, fsck) call it first, so a
   * typo in --store is an error, not an empty store.
   */
  check(options?: ReadOptions): Promise<void>;
  get(key: string, options?: ReadOptions): Promise<StoredObject | undefined>;
  /** The current version tag, or undefined when the key does not exist. */
  head(key: string, options?: ReadOptions): Promise<string | undefined>;
  /** Creates `key`; CONFLICT when it already exists. */
  putNew(key: string, body: Uint8Array, options?: PutOptions): Promise<string>;
  /**
   * Replaces `key` only if its version is still `ifMatch`; `null` means "only if it does
   * not exist yet". CONFLICT otherwise. Returns the new version tag.
   */
  putIfMatch(key: string, body: Uint8Array, ifMatch: string | null, options?: PutOptions): Promise<string>;
  /** Keys under a prefix, sorted. */
  list(prefix: string, options?: ReadOptions): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Locks and temporaries under a prefix (none on object storage). */
  leftovers(prefix: string): Promise<Leftover[]>;
  /** Removes the stale leftovers under a prefix (never a live writer's); returns them. */
  clearLeftovers(prefix: string): Promise<Leftover[]>;
}

/** Suffixes of the directory store's own files; no key may end with them. */
export const LEFTOVER_SUFFIX = /\.(lock|tmp)$/;

/**
 * Keys are relative, "/"-separated, each segment a plain file name (no "." or "..", no
 * separator or control character, at most 255 bytes), and never end in `.lock` or `.tmp`,
 * which the directory store keeps for its own files.
 */
export function checkKey(key: string): void {
  const bad = key === "" || key.split("/").some((s) => !isSafeFileName(s)) || LEFTOVER_SUFFIX.test(key);
  if (bad) throw new BootstreamError("USAGE", `invalid store key ${JSON.stringify(key.slice(0, 300))}`);
}

export function contentTypeOf(key: string): string {
  if (key.endsWith(".json")) return "application/json";
  if (key.endsWith(".asc")) return "application/pgp-signature";
  return "application/octet-stream";
}
