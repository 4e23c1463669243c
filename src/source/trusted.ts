/**
 * Accepting a stream as a client should (TUF's threats, for one document): its exact bytes
 * carry a valid detached signature by one of the client's keys, it is not older than the
 * newest stream accepted from the same place (rollback), and not older than --max-age
 * (freeze). Everything is checked before the caller acts on the stream or writes anything.
 *
 * The signature is looked up so that a publish racing the read cannot fail it: the pointer
 * changes under readers, its pinned copies never do. In order, the first valid one wins:
 *   1. the `.asc` of the pinned copy the server names in Content-Location (bootstream serve);
 *   2. the `.asc` of the pinned copy history.json lists with these bytes' sha256 (a static
 *      mirror or bucket of a bootstream store: no bootstream server needed);
 *   3. `<url>.asc` (or FILE.asc; `--stream-signature` replaces all of these);
 *   4. a mirror's signed upstream copy (`<name>.upstream.json` + `.asc`, or the copy it is
 *      replacing, `<name>.upstream-previous.json`) that the stream must equal except for
 *      artifact URLs re-based onto the mirror.
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { type HistoryEntry, parseHistory } from "../publish/history.ts";
import { isRfc3339 } from "../schema/common.ts";
import { isStreamName } from "../schema/names.ts";
import { alreadyDecoded, decodeDocument, parseStream } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { printable, quoted } from "../schema/text.ts";
import { keyFingerprints, readPublicKeys, verifyDetached } from "../signature/index.ts";
import { checkMaxAge, checkNotAhead, lastModifiedOfValue, parseDuration } from "../trust/freshness.ts";
import { checkMirrorRewrite, isUpstreamCopyName, upstreamCopyNames } from "../trust/mirror-rewrite.ts";
import {
  HISTORY_MAX_BYTES,
  type ReadSourceOptions,
  readSource,
  SIGNATURE_MAX_BYTES,
  type SourceBytes,
} from "./read.ts";
import { acceptStream, defaultStateDir } from "./trust-state.ts";

export interface TrustOptions {
  /**
   * Public keys any of which may sign the stream (openpgp keys, or armored or binary key
   * material: a keyring file's bytes); none: the signature is not checked.
   */
  keys?: readonly Key[] | string | Uint8Array;
  /** Where the signature is (path or URL), instead of looking it up. */
  signature?: string;
  /**
   * Trust state directory (rollback protection), kept only for streams whose signature
   * verified; default ~/.local/state/bootstream (the library reads no environment: pass
   * defaultStateDir with the environment to follow XDG_STATE_HOME); false keeps no state.
   */
  stateDir?: string | false;
  /** Refuse a stream last modified longer ago than this (FROZEN): `14d`, or milliseconds. */
  maxAge?: string | number;
  /** Accept (and record) a stream older than the newest accepted, once. */
  allowRollback?: boolean;
  /** The clock (tests). */
  now?: () => Date;
}

/** How a stream was accepted. */
export interface TrustVerdict {
  name: string;
  sha256: string;
  lastModified: string | undefined;
  /** The signature that verified, when keys were given. */
  signature?: { bytes: Uint8Array; from: string; fingerprint: string; keyId: string };
  /** Set when the signature is over the mirror's upstream copy, which the stream matched. */
  upstream?: { bytes: Uint8Array; from: string };
  /** The trust state entry checked and updated (undefined: no state kept). */
  stateUrl?: string;
}

export interface FetchedStream extends TrustVerdict {
  bytes: Uint8Array;
  stream: Stream;
}

/**
 * Reads a stream (path, URL, bare name, `-`) and accepts it only after the checks the options
 * ask for; throws SIGNATURE_INVALID, ROLLBACK, FROZEN (or the read's own errors) otherwise.
 */
export async function fetchStream(
  source: string,
  options: TrustOptions & ReadSourceOptions = {},
): Promise<FetchedStream> {
  const { accept: _ignored, ...read } = options;
  const sourceBytes = await readSource(source, read);
  const verdict = await verifySource(sourceBytes, options, read);
  const input = sourceBytes.decoded ? alreadyDecoded(sourceBytes.decoded) : sourceBytes.bytes;
  return { ...verdict, bytes: sourceBytes.bytes, stream: parseStream(input) };
}

/** A ReadSourceOptions.accept that applies these checks to whatever is read. */
export function trustCheck(
  trust: TrustOptions,
  read: ReadSourceOptions,
  onAccepted?: (verdict: TrustVerdict) => void,
): (source: SourceBytes) => Promise<void> {
  const { accept: _ignored, ...plain } = read;
  return async (source) => {
    const verdict = await verifySource(source, trust, plain);
    onAccepted?.(verdict);
  };
}

async function keysOf(keys: TrustOptions["keys"]): Promise<readonly Key[]> {
  if (keys === undefined) return [];
  if (typeof keys === "string") return readPublicKeys(new TextEncoder().encode(keys));
  if (keys instanceof Uint8Array) return readPublicKeys(keys);
  return keys;
}

async function verifySource(
  source: SourceBytes,
  trust: TrustOptions,
  read: ReadSourceOptions,
): Promise<TrustVerdict> {
  const sha256 = sha256Hex(source.bytes);
  const verdict: TrustVerdict = { name: source.name, sha256, lastModified: undefined };
  const keys = await keysOf(trust.keys);
  const signed = keys.length > 0;
  // Only what a key vouched for is remembered: an unsigned stream dated 2099 must not make
  // every genuine one a "rollback".
  if (!signed && (trust.signature !== undefined || typeof trust.stateDir === "string" || trust.allowRollback))
    throw new BootstreamError(
      "USAGE",
      "--stream-signature, --state-dir and --allow-rollback need --stream-key (the keys that may sign the stream): only verified streams are checked against the trust state",
    );
  if (signed) Object.assign(verdict, await findValidSignature(source, sha256, keys, trust, read));
  // Decoded once for the checks below, and kept for the command's own parse of these bytes.
  let tried = false;
  const value = () => {
    if (!tried) {
      tried = true;
      try {
        source.decoded ??= decodeDocument(source.bytes);
      } catch {
        // not JSON: the checks that need a value say so, and the command's parse reports where
      }
    }
    return source.decoded?.value;
  };
  checkStreamNamed(source, value(), signed);
  const stateDir = signed ? (trust.stateDir ?? defaultStateDir()) : false;
  const maxAgeMs = typeof trust.maxAge === "string" ? parseDuration(trust.maxAge) : trust.maxAge;
  if (maxAgeMs === undefined && stateDir === false) return verdict;

  const lastModified = lastModifiedOf(source, value());
  verdict.lastModified = lastModified;
  const now = trust.now?.() ?? new Date();
  checkNotAhead(source.name, lastModified, now);
  if (maxAgeMs !== undefined) checkMaxAge(source.name, lastModified, maxAgeMs, now);
  const stateUrl = stateDir === false ? undefined : await identityOf(source);
  if (stateDir !== false && stateUrl !== undefined) {
    await acceptStream(
      stateDir,
      stateUrl,
      source.name,
      { lastModified, sha256 },
      {
        ...(trust.allowRollback ? { allowRollback: true } : {}),
        now,
      },
    );
    verdict.stateUrl = stateUrl;
  }
  return verdict;
}

/**
 * The stream's /metadata/last-modified, which freshness rests on: refused when missing or not
 * RFC 3339 (what Date.parse would also take, "2099-01-01" or "Feb 1, 2099", is read in local
 * time or not at all by other clients, and would be remembered before the command refuses it).
 */
function lastModifiedOf(source: SourceBytes, value: unknown): string {
  const lastModified = lastModifiedOfValue(value);
  if (lastModified === undefined || !isRfc3339(lastModified))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${source.name}: /metadata/last-modified is missing or not an RFC 3339 timestamp (${
        lastModified === undefined ? "none" : quoted(lastModified.slice(0, 80))
      }), so its freshness cannot be checked`,
      { path: "/metadata/last-modified" },
    );
  return lastModified;
}

/**
 * What the trust state is keyed by: the place asked for (never where a redirect led: the
 * server does not get to choose which history it is judged against), or the file's real
 * path as a file: URL. A URL is keyed without its query, fragment and credentials, and as
 * the URL parser spells it (scheme and host in lower case, no default port, no dot
 * segments): a cache-busting `?t=...` or a presigned URL changes on every call, and a
 * client must not be able to step out of its own history by such a change.
 */
async function identityOf(source: SourceBytes): Promise<string | undefined> {
  if (source.file !== undefined) {
    // A pipe (/dev/stdin, <(...)) has no real path: like standard input, nothing to remember.
    const real = await realpath(source.file).catch(() => undefined);
    return real === undefined ? undefined : pathToFileURL(real).href;
  }
  if (source.fetched !== undefined) return placeKey(source.name);
  return undefined; // standard input has no identity to remember
}

function placeKey(url: string): string {
  const place = new URL(url);
  place.search = "";
  place.hash = "";
  place.username = "";
  place.password = "";
  return place.href;
}

/** A pinned copy's file name in the store layout (streams/<name>/<id>.json). */
const PINNED_ID = /^\d{8}(-\d{1,3})?$/;

/**
 * The stream the place names, where the layout says: `streams/<name>.json` (a store, a
 * mirror, FCOS's own server, a bare stream name) or a pinned copy `streams/<name>/<id>.json`.
 * Elsewhere (`rhcos.json` holding stream rhcos-4.16) a place names no stream.
 */
function streamNamedBy(source: SourceBytes): string | undefined {
  const where = source.fetched !== undefined ? new URL(source.name).pathname : source.file;
  if (where === undefined) return undefined;
  const segments = where.split(/[/\\]/).filter((s) => s !== "");
  const file = /^(.+)\.json$/.exec(segments.at(-1) ?? "")?.[1];
  if (file === undefined) return undefined;
  if (PINNED_ID.test(file) && segments.at(-3) === "streams") {
    const name = segments.at(-2);
    return name !== undefined && isStreamName(name) ? name : undefined;
  }
  return segments.at(-2) === "streams" && isStreamName(file) ? file : undefined;
}

/**
 * Mix-and-match (TUF): another stream signed by the same key (testing, say, served as
 * stable, or a pinned copy of another stream) verifies like the right one. Where the place
 * names the stream, the document must be that stream, before its timestamp is remembered
 * for this place.
 */
function checkStreamNamed(source: SourceBytes, value: unknown, signed: boolean): void {
  const expected = streamNamedBy(source);
  if (expected === undefined) return;
  const actual = (value as { stream?: unknown } | null)?.stream;
  if (typeof actual !== "string" || actual === expected) return;
  throw new BootstreamError(
    signed ? "SIGNATURE_INVALID" : "INVALID_DOCUMENT",
    `${source.name} holds stream ${quoted(actual.slice(0, 80))}${signed ? " (signed as such)" : ""}, not ${quoted(expected)} as its place names it: refusing another stream served in its place`,
    { path: "/stream" },
  );
}

/**
 * Without keys, the signature a client would find first beside the stream, unverified: what
 * a mirror keeps beside its upstream copy so clients holding the upstream key can still
 * verify the mirror (they do the verifying). Undefined when there is none to be found.
 */
export async function locateSignature(
  source: SourceBytes,
  read: ReadSourceOptions,
): Promise<{ bytes: Uint8Array; from: string } | undefined> {
  const sha256 = sha256Hex(source.bytes);
  const { accept: _ignored, ...plain } = read;
  for await (const candidate of candidates(source, sha256, {}, plain, [])) {
    if (candidate.upstream !== undefined) continue; // over another document
    try {
      const { bytes } = await readSource(candidate.at, { ...plain, maxBytes: SIGNATURE_MAX_BYTES });
      return { bytes, from: candidate.at };
    } catch {
      // not there: the next place
    }
  }
  return undefined;
}

interface Candidate {
  /** Where the signature is (URL or path). */
  at: string;
  /** The signed bytes when not the source's own (a mirror's upstream copy). */
  upstream?: string;
}

interface Attempt {
  at: string;
  outcome: "missing" | "invalid" | "unreadable";
  why: string;
}

async function findValidSignature(
  source: SourceBytes,
  sha256: string,
  keys: readonly Key[],
  trust: TrustOptions,
  read: ReadSourceOptions,
): Promise<Pick<TrustVerdict, "signature" | "upstream">> {
  const attempts: Attempt[] = [];
  const small = { ...read, maxBytes: SIGNATURE_MAX_BYTES };
  for await (const candidate of candidates(source, sha256, trust, read, attempts)) {
    let signature: SourceBytes;
    let signed = source.bytes;
    let upstream: SourceBytes | undefined;
    try {
      if (candidate.upstream !== undefined) {
        upstream = await readSource(candidate.upstream, read);
        signed = upstream.bytes;
      }
      signature = await readSource(candidate.at, small);
    } catch (error) {
      attempts.push(failedRead(candidate.upstream ?? candidate.at, error));
      continue;
    }
    let check: Awaited<ReturnType<typeof verifyDetached>>;
    try {
      check = await verifyDetached(signed, signature.bytes, keys, { exactBytes: true });
    } catch (error) {
      attempts.push({ at: candidate.at, outcome: "invalid", why: (error as Error).message });
      continue;
    }
    const found = {
      signature: {
        bytes: signature.bytes,
        from: candidate.at,
        fingerprint: check.fingerprint,
        keyId: check.keyId,
      },
    };
    if (upstream === undefined) return found;
    // The signature is good, but over the upstream copy: the stream must be that copy, re-based.
    try {
      // Decoded once, and kept for the command's own parse; the walk needs no validation.
      source.decoded ??= decodeDocument(source.bytes);
      checkMirrorRewrite(source.name, parseStream(upstream.bytes), source.decoded.value as Stream);
    } catch (error) {
      attempts.push({ at: candidate.upstream as string, outcome: "invalid", why: (error as Error).message });
      continue;
    }
    return { ...found, upstream: { bytes: upstream.bytes, from: candidate.upstream as string } };
  }
  // What a hostile server answered (an HTTP reason phrase, say) reaches the terminal escaped.
  const tried = printable(attempts.map((a) => `${a.at}: ${a.why}`).join("; "));
  const keyList = keyFingerprints(keys).join(", ");
  // A signature that failed is an attack or a mistake (4). Otherwise, if some place could
  // not be read (the network, a deadline) the signature may be there: an I/O failure (2).
  const code = attempts.some((a) => a.outcome === "invalid")
    ? "SIGNATURE_INVALID"
    : attempts.some((a) => a.outcome === "unreadable")
      ? "IO"
      : "SIGNATURE_INVALID";
  throw new BootstreamError(
    code,
    `${source.name}: no valid signature by the keys given (${keyList}); tried ${tried || "nothing"}`,
    { path: source.name },
  );
}

function failedRead(at: string, error: unknown): Attempt {
  if (error instanceof BootstreamError && error.code === "NOT_FOUND")
    return { at, outcome: "missing", why: "not found" };
  if (error instanceof BootstreamError && (error.code === "TOO_LARGE" || error.code === "INVALID_DOCUMENT"))
    return { at, outcome: "invalid", why: error.message };
  return { at, outcome: "unreadable", why: (error as Error).message };
}

/** Where to look for the signature, in order (see the module comment). */
async function* candidates(
  source: SourceBytes,
  sha256: string,
  trust: TrustOptions,
  read: ReadSourceOptions,
  attempts: Attempt[],
): AsyncGenerator<Candidate> {
  if (trust.signature !== undefined) {
    yield { at: trust.signature };
    return;
  }
  const place = placeOf(source);
  if (place === undefined) {
    attempts.push({
      at: "-",
      outcome: "missing",
      why: "standard input has no signature beside it: give --stream-signature",
    });
    return;
  }
  if (source.fetched?.contentLocation !== undefined) {
    const pinned = sameOrigin(source.fetched.contentLocation, source.fetched.url);
    if (pinned === undefined)
      attempts.push({
        at: `Content-Location ${JSON.stringify(source.fetched.contentLocation.slice(0, 200))}`,
        outcome: "invalid",
        why: "not a URL on the same server, ignored",
      });
    else yield { at: `${pinned}.asc` };
  }
  const stream = streamFileName(source.fetched !== undefined ? new URL(place.self).pathname : place.self);
  if (stream !== undefined) {
    const pinned = await pinnedSignature(place, stream, sha256, read, attempts);
    if (pinned !== undefined) yield pinned;
  }
  yield { at: place.signature };
  // A mirror's upstream copy, and the one it is replacing (a mirror run in progress).
  if (stream !== undefined)
    for (const copy of upstreamCopyNames(stream)) {
      const upstream = place.sibling(copy);
      yield { at: `${upstream}.asc`, upstream };
    }
}

/** The `.asc` of the pinned copy history.json lists with these bytes' sha256. */
async function pinnedSignature(
  place: Place,
  stream: string,
  sha256: string,
  read: ReadSourceOptions,
  attempts: Attempt[],
): Promise<Candidate | undefined> {
  const historyAt = place.sibling(`${stream}/history.json`);
  let bytes: Uint8Array;
  try {
    ({ bytes } = await readSource(historyAt, { ...read, maxBytes: HISTORY_MAX_BYTES }));
  } catch (error) {
    attempts.push(failedRead(historyAt, error));
    return undefined;
  }
  let entries: HistoryEntry[];
  try {
    entries = parseHistory(bytes, historyAt).entries;
  } catch (error) {
    // It answered, with something that is no history: bad content, not a failed read.
    attempts.push({ at: historyAt, outcome: "invalid", why: (error as Error).message });
    return undefined;
  }
  const entry = entries.find((e) => e.sha256 === sha256);
  if (entry === undefined) {
    attempts.push({ at: historyAt, outcome: "missing", why: "lists no pinned copy with these bytes" });
    return undefined;
  }
  return { at: place.sibling(`${stream}/${entry.id}.json.asc`) };
}

interface Place {
  self: string;
  signature: string;
  sibling: (name: string) => string;
}

/** The source's own location, its `.asc`, and how to name a file beside it (URL or path). */
function placeOf(source: SourceBytes): Place | undefined {
  if (source.fetched !== undefined) {
    const self = source.fetched.url;
    // `.asc` goes on the path: `stable.json?t=1` has its signature at `stable.json.asc?t=1`.
    const signature = new URL(self);
    signature.pathname += ".asc";
    signature.hash = "";
    return { self, signature: signature.href, sibling: (name) => new URL(name, self).href };
  }
  if (source.file !== undefined) {
    const self = source.file;
    return { self, signature: `${self}.asc`, sibling: (name) => join(dirname(self), name) };
  }
  return undefined;
}

/** `stable` of `.../stable.json` (a URL's path, or a file path): the name the store layout files history and pinned copies under. */
function streamFileName(path: string): string | undefined {
  const last = basename(path);
  const name = /^(.+)\.json$/.exec(last)?.[1];
  if (name === undefined || !isStreamName(name) || isUpstreamCopyName(name)) return undefined;
  return name;
}

/** Content-Location resolved against the URL read, when it stays on the same server. */
function sameOrigin(location: string, base: string): string | undefined {
  try {
    const url = new URL(location, base);
    return url.origin === new URL(base).origin && url.search === "" && url.hash === "" ? url.href : undefined;
  } catch {
    return undefined;
  }
}
