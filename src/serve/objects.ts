/**
 * In-memory copies of store objects for serving: bytes, strong ETag (sha256), and the gzip
 * and brotli encodings made once per version. An entry is revalidated against the store
 * when it is older than `revalidateMs`, so a publish shows up within that time without a
 * restart; concurrent requests share one revalidation.
 */
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { Store } from "../storage/store.ts";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export type Encoding = "identity" | "gzip" | "br";

export interface ServedObject {
  key: string;
  body: Buffer;
  /** Quoted strong ETag: the sha256 of the identity bytes. */
  etag: string;
  sha256: string;
  /** When this server first saw this version (HTTP date). */
  lastModified: string;
  lastModifiedMs: number;
  /** Store version tag, to revalidate cheaply. */
  storeTag: string;
  encoded: Partial<Record<Exclude<Encoding, "identity">, Promise<Buffer>>>;
  /** The encodings already made, for the synchronous fast path. */
  ready: Partial<Record<Exclude<Encoding, "identity">, Buffer>>;
  /** Response headers built once per (route kind, encoding, status). */
  variants: Map<string, Record<string, string | number>>;
  /** For a pointer: the pinned copy it equals, once known (stable for these bytes). */
  pinnedId?: string;
}

/** peek() answer when the cache cannot tell without asking the store. */
export const UNKNOWN = Symbol("unknown");

interface Slot {
  object: ServedObject | undefined;
  checkedAt: number;
  pending: Promise<ServedObject | undefined> | undefined;
}

/** Bodies smaller than this are sent as they are: compression would not pay for itself. */
export const MIN_COMPRESS_BYTES = 256;

export class ObjectCache {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly store: Store,
    private readonly revalidateMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** What is cached for `key` if it is fresh enough to serve without asking the store. */
  peek(key: string): ServedObject | undefined | typeof UNKNOWN {
    const slot = this.slots.get(key);
    if (slot === undefined || Date.now() - slot.checkedAt >= this.revalidateMs) return UNKNOWN;
    return slot.object;
  }

  /** The current object at `key`, or undefined when the store has none. */
  async get(key: string): Promise<ServedObject | undefined> {
    const now = Date.now();
    let slot = this.slots.get(key);
    if (slot !== undefined && now - slot.checkedAt < this.revalidateMs) return slot.object;
    if (slot?.pending) return slot.pending;
    if (slot === undefined) {
      if (this.slots.size >= this.maxEntries) this.evictOldest();
      slot = { object: undefined, checkedAt: 0, pending: undefined };
      this.slots.set(key, slot);
    }
    const s = slot;
    s.pending = this.refresh(key, s.object).then(
      (object) => {
        s.object = object;
        s.checkedAt = Date.now();
        s.pending = undefined;
        return object;
      },
      (error: unknown) => {
        s.pending = undefined;
        throw error;
      },
    );
    return s.pending;
  }

  /** Forget what is cached for `key` (after this server itself wrote it). */
  invalidate(key: string): void {
    this.slots.delete(key);
  }

  private evictOldest(): void {
    const first = this.slots.keys().next();
    if (!first.done) this.slots.delete(first.value);
  }

  private async refresh(key: string, previous: ServedObject | undefined): Promise<ServedObject | undefined> {
    if (previous !== undefined) {
      const tag = await this.store.head(key);
      if (tag === previous.storeTag) return previous;
      if (tag === undefined) return undefined;
    }
    const object = await this.store.get(key);
    if (object === undefined) return undefined;
    const body = Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength);
    const sha256 = createHash("sha256").update(body).digest("hex");
    if (previous !== undefined && previous.sha256 === sha256) return { ...previous, storeTag: object.etag };
    const now = Date.now();
    return {
      key,
      body,
      etag: `"${sha256}"`,
      sha256,
      lastModified: new Date(Math.floor(now / 1000) * 1000).toUTCString(),
      lastModifiedMs: Math.floor(now / 1000) * 1000,
      storeTag: object.etag,
      encoded: {},
      ready: {},
      variants: new Map(),
    };
  }
}

/** The body in the best encoding the client accepts (precompressed once per version). */
export async function encodedBody(object: ServedObject, encoding: Encoding): Promise<Buffer> {
  if (encoding === "identity" || object.body.byteLength < MIN_COMPRESS_BYTES) return object.body;
  let pending = object.encoded[encoding];
  if (pending === undefined) {
    pending =
      encoding === "gzip"
        ? gzipAsync(object.body, { level: 9 })
        : brotliAsync(object.body, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: 11,
              [constants.BROTLI_PARAM_SIZE_HINT]: object.body.byteLength,
            },
          });
    object.encoded[encoding] = pending;
    void pending.then((body) => {
      object.ready[encoding] = body;
    });
  }
  return pending;
}

const negotiated = new Map<string, Encoding>();

/** Picks br, then gzip, from an Accept-Encoding header (q=0 excludes). Remembers common headers. */
export function negotiateEncoding(header: string | undefined): Encoding {
  if (!header) return "identity";
  const known = negotiated.get(header);
  if (known !== undefined) return known;
  const encoding = parseAcceptEncoding(header);
  if (negotiated.size < 1000) negotiated.set(header, encoding);
  return encoding;
}

function parseAcceptEncoding(header: string): Encoding {
  let br = false;
  let gz = false;
  for (const part of header.split(",")) {
    const [name = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.find((p) => p.trim().startsWith("q="));
    if (q !== undefined && Number(q.trim().slice(2)) === 0) continue;
    if (name === "br") br = true;
    else if (name === "gzip" || name === "x-gzip") gz = true;
    else if (name === "*") {
      br = true;
      gz = true;
    }
  }
  return br ? "br" : gz ? "gzip" : "identity";
}
