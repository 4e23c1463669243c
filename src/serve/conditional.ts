/**
 * Answers for store files: conditional GET (If-None-Match, If-Modified-Since), content
 * encoding, and the caching headers a CDN and coreos-installer rely on. Headers are built
 * once per (object version, route class, encoding, status) and reused, which is most of
 * what keeps a cached answer near nginx's speed.
 */
import type { IncomingHttpHeaders } from "node:http";
import { parseEntityTags, quoteEtag } from "../net/etag.ts";
import { type Encoding, MIN_COMPRESS_BYTES, negotiateEncoding, type ServedObject } from "./objects.ts";
import type { HttpReply } from "./respond.ts";
import type { FileClass, FileTarget } from "./routes.ts";

/** How long a cache in front may serve a stale pointer when the origin fails (RFC 5861). */
export const STALE_IF_ERROR_SECONDS = 86_400;

/**
 * Cache-Control per class. A pinned copy never changes. The pointer and history may be
 * served `maxAge` seconds, then for as long again while a cache revalidates in the
 * background, and for a day when the origin errors: a cache in front keeps answering
 * through an outage, as serve itself does.
 */
export function cacheControlPolicy(maxAge: number): Record<FileClass, string> {
  const mutable = `public, max-age=${maxAge}, stale-while-revalidate=${maxAge}, stale-if-error=${STALE_IF_ERROR_SECONDS}`;
  return { pointer: mutable, history: mutable, pinned: "public, max-age=31536000, immutable" };
}

/** Whether an If-None-Match header names this version (any of its encodings; weak comparison). */
function matchesEtag(header: string, object: ServedObject): boolean {
  if (header === object.etag) return true; // what nearly every revalidating client sends
  const tags = parseEntityTags(header);
  if (tags === undefined) return false;
  if (tags === "*") return true;
  const { sha256 } = object;
  return tags.some(
    (t) => t.opaque === sha256 || t.opaque === `${sha256}-gzip` || t.opaque === `${sha256}-br`,
  );
}

/** RFC 9110 13.1.3: If-Modified-Since is ignored when If-None-Match is present. */
function notModified(headers: IncomingHttpHeaders, object: ServedObject): boolean {
  const inm = headers["if-none-match"];
  if (inm !== undefined) return matchesEtag(inm, object);
  const ims = headers["if-modified-since"];
  return ims !== undefined && Date.parse(ims) >= object.lastModifiedMs;
}

/** The encoding this request gets for this file (signatures are tiny and sent as they are). */
export function encodingFor(headers: IncomingHttpHeaders, target: FileTarget): Encoding {
  return target.signature ? "identity" : negotiateEncoding(headers["accept-encoding"]);
}

/**
 * The answer for a file, or undefined when the encoding it needs is not made yet (the
 * caller makes it and asks again).
 */
export function fileReply(
  headers: IncomingHttpHeaders,
  target: FileTarget,
  object: ServedObject,
  cacheControl: Record<FileClass, string>,
): HttpReply | undefined {
  const encoding = encodingFor(headers, target);
  let body = object.body;
  let actual: Encoding = "identity";
  if (encoding !== "identity" && object.body.byteLength >= MIN_COMPRESS_BYTES) {
    const encoded = object.ready[encoding];
    if (encoded === undefined) return undefined;
    body = encoded;
    actual = encoding;
  }
  const status = notModified(headers, object) ? 304 : 200;
  // The whole answer is made once per (encoding, status) and then reused as it is. The
  // object's key fixes the route's class and signature (both spellings of a path agree).
  const slot = ENCODINGS.indexOf(actual) * 2 + (status === 304 ? 1 : 0);
  let reply = object.variants[slot];
  if (reply === undefined) {
    const replyHeaders = fileHeaders(target, object, actual, status, body.byteLength, cacheControl);
    reply = status === 304 ? { status, headers: replyHeaders } : { status, headers: replyHeaders, body };
    object.variants[slot] = reply;
  }
  return reply;
}

const ENCODINGS: readonly Encoding[] = ["identity", "gzip", "br"];

function fileHeaders(
  target: FileTarget,
  object: ServedObject,
  encoding: Encoding,
  status: number,
  length: number,
  cacheControl: Record<FileClass, string>,
): Record<string, string | number> {
  const headers: Record<string, string | number> = {};
  if (status === 200)
    headers["content-type"] = target.signature ? "application/pgp-signature" : "application/json";
  // A pinned copy history does not list yet may be withdrawn and its id reused: not immutable.
  headers["cache-control"] = cacheControl[object.unlisted ? "pointer" : target.class];
  headers["last-modified"] = object.lastModified;
  headers.etag = encoding === "identity" ? object.etag : quoteEtag(`${object.sha256}-${encoding}`);
  if (!target.signature) headers.vary = "Accept-Encoding";
  // Names the pinned copy these bytes equal, so a client can fetch its .asc without racing a publish.
  if (target.class === "pointer" && object.pinnedId !== undefined) {
    headers["content-location"] =
      `/streams/${target.name}/${object.pinnedId}.json${target.signature ? ".asc" : ""}`;
  }
  headers["x-content-type-options"] = "nosniff";
  if (status === 200) {
    if (encoding !== "identity") headers["content-encoding"] = encoding;
    headers["content-length"] = length;
  }
  return headers;
}
