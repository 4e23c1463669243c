/**
 * A verified store object as serve holds it: bytes, strong ETag (sha256), and the gzip and
 * brotli encodings made once per version; plus content negotiation. The catalog
 * (catalog.ts) decides which version is current.
 */

import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { Stream } from "../schema/stream.ts";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

import type { HttpReply } from "./respond.ts";

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
  /**
   * Whole answers made once per (encoding, status), indexed as conditional.ts does; the key
   * fixes the route class. Never mutated once made: writeReply only reads them.
   */
  variants: (HttpReply | undefined)[];
  /** A pinned copy history does not list yet: served, revalidated, but not as immutable. */
  unlisted?: boolean;
  /** For a pointer: the pinned copy it equals, once known (stable for these bytes). */
  pinnedId?: string;
  /** A pointer's parsed stream, from its verification (never parsed again). */
  stream?: Stream;
}

/** Bodies smaller than this are sent as they are: compression would not pay for itself. */
export const MIN_COMPRESS_BYTES = 256;

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
