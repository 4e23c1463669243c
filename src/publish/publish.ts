/**
 * Publishing a stream into a store: an immutable pinned copy first, then its history
 * entry, then the moving pointer, each with a precondition so that concurrent publishers
 * never lose each other's pinned copy and a reader never sees a half-written file:
 *
 *   1. read the pointer (version P) and lint the new stream against it;
 *   2. create streams/<name>/<id>.json (create-only; an identical copy is reused);
 *   3. add the copy to streams/<name>/history.json (compare-and-swap, merged on conflict);
 *   4. move streams/<name>.json from version P to the new bytes (compare-and-swap).
 *
 * A crash between steps leaves the old pointer serving; running again completes the work:
 * it first removes the locks and temporaries a killed writer left (never a live one's),
 * records in history the pinned copies a killed writer left unrecorded (any later publish
 * does, whatever it publishes), and at the end checks every signature of the stream (pinned copy, history, pointer) and
 * rewrites the ones missing or stale, even when the pointer needs no move.
 * If step 4 finds the pointer moved, someone else published first: CONFLICT (or, with
 * retries, start again from step 1 and lint against what they published).
 *
 * A publish with a `pointerPrecondition` (the API's If-Match / If-None-Match) is exact: the
 * precondition is checked against the pointer version read at step 1, step 4 swaps from that
 * very version, and nothing retries past it. It is checked right after step 1, before anything
 * is written, so a client with a stale ETag writes nothing. Racers that all passed that check
 * have each pinned a copy and added a history entry before one of them wins step 4 (the order
 * pinned → history → pointer keeps the pointer naming a pinned copy in history at every
 * instant). A loser then has published nothing and must leave nothing behind, so it withdraws
 * what this run wrote: its history entry (only the one with its id and sha256; history is
 * re-signed), then the pinned copy and its .asc if this run created them (a reused copy is
 * someone else's). It keeps them when the pointer holds its bytes (a publisher of the same bytes
 * reused the copy and won), and puts them back if that happens while it withdraws. A loser
 * killed before or after withdrawing leaves at most the orphan copy + entry a CLI CONFLICT
 * keeps (fsck is clean with it); killed between the entry and the copy, it leaves a copy that
 * is not in history (the finding of a publisher killed after step 2), which the next publish
 * of those bytes adopts. A publisher that reused a copy or entry checks right after its swap
 * that both are still there and puts them back if a loser withdrew them meanwhile. One window
 * stays open, as the store has no conditional delete: if a publisher of the same bytes reuses
 * the loser's copy, wins and checks, and a third publish moves the pointer on, all between the
 * loser's swap and its look at the pointer, the loser withdraws a copy that was published
 * (history no longer lists it; the pointer does not name it).
 * Any other failure between steps 2 and 4 of a precondition publish withdraws the same way
 * (it is not a success either), unless the pointer holds its bytes: a write that timed out
 * may still have happened.
 */
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { lintDocument, type Violation } from "../lint/index.ts";
import type { Policy } from "../lint/policy.ts";
import { newestReleases } from "../query/releases.ts";
import { formatTimestamp } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import { acceptDocument, checkDocument, type ParsedDocument, parseDocumentAs } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import type { Signer } from "../signature/index.ts";
import type { Leftover, Store, StoredObject } from "../storage/store.ts";
import { backoff, changedSince, updateWithRetry } from "../storage/update.ts";
import { type HistoryEntry, readHistory, updateHistory } from "./history.ts";
import { checkStreamName, historyKey, pinnedIdFor, pinnedKey, pointerKey, signatureKey } from "./layout.ts";

/**
 * Steps reported to `afterStep`; "withdrawn" is a losing precondition publish between removing
 * its history entry and deleting its pinned copy.
 */
export type PublishStep = "pinned" | "signature" | "history" | "pointer" | "withdrawn";

/**
 * What the pointer must be for the publish to move it (RFC 9110 If-Match / If-None-Match,
 * with the sha256 of the pointer's bytes as its entity tag). Both present: both must hold.
 */
export interface PointerPrecondition {
  /** The pointer exists and holds one of these sha256s ("*": any version). */
  ifMatch?: "*" | readonly string[];
  /** The pointer does not exist ("*"), or holds none of these sha256s. */
  ifNoneMatch?: "*" | readonly string[];
}

export interface PublishOptions {
  /** Name under streams/ (default: the stream's own `stream` field). */
  name?: string;
  /** Publish even if lint fails (schema validity is always required). */
  force?: boolean;
  policy?: Policy;
  signer?: Signer;
  /**
   * The signer's public key(s). With them a rerun tells a stale `.asc` from a good one and
   * rewrites only the stale; without them it trusts a pinned copy's existing `.asc` and
   * re-signs the mutable history.
   */
  signerKeys?: readonly Key[];
  /** Extra attempts after losing the pointer race (each re-reads and re-lints). Default 0. */
  retries?: number;
  /**
   * Move the pointer only from a version satisfying this, in one compare-and-swap: no retries,
   * and a loser withdraws what it wrote (see the module comment). CONFLICT when it fails.
   */
  pointerPrecondition?: PointerPrecondition;
  /** Test hook: called after each step; lets tests kill or pause a publisher between steps. */
  afterStep?: (step: PublishStep) => Promise<void> | void;
  /** Clock for `published` in history (tests pin it). */
  now?: () => Date;
}

export interface PublishResult {
  name: string;
  id: string;
  sha256: string;
  /** False when the pointer already held these bytes. */
  pointerMoved: boolean;
  /** True when an identical pinned copy existed and was reused. */
  reusedPinnedCopy: boolean;
  previousSha256?: string;
  /** Signatures this run found missing or stale and rewrote (an earlier run was interrupted). */
  repaired: string[];
  /** Locks and temporaries of killed writers that this run removed. */
  cleared: ClearedLeftover[];
}

/** A removed leftover, as a result may show it to anyone (no local path). */
export type ClearedLeftover = Pick<Leftover, "key" | "kind" | "ageMs" | "owner">;

const encoder = new TextEncoder();

/**
 * The stream to publish, parsed once: its source text is what lint checks for canonical
 * form, its canonical text (in its own indent) the bytes that are stored and served.
 */
function streamDocument(content: string | Uint8Array | ParsedDocument): ParsedDocument<"stream"> {
  const doc =
    typeof content === "string" || content instanceof Uint8Array
      ? parseDocumentAs("stream", content)
      : content;
  if (doc.kind !== "stream")
    throw new BootstreamError("INVALID_DOCUMENT", `expected a stream, found a ${doc.kind} document`, {
      path: "",
    });
  const stream = doc.data;
  // The name becomes keys and paths wherever the stream goes (mirrors, images): one rule.
  if (!isStreamName(stream.stream)) {
    const message = `expected ${STREAM_NAME_EXPECTATION}, got ${JSON.stringify(String(stream.stream).slice(0, 80))}`;
    throw new BootstreamError("INVALID_DOCUMENT", `/stream: ${message}`, {
      path: "/stream",
      issues: [{ pointer: "/stream", message }],
    });
  }
  return doc;
}

/**
 * Whether `signature` is a good signature of `bytes`. Without the signer's keys only its
 * presence can be known, which is what `trustPresence` answers then.
 */
async function signatureGood(
  bytes: Uint8Array,
  signature: Uint8Array | undefined,
  keys: readonly Key[] | undefined,
  trustPresence: boolean,
): Promise<boolean> {
  if (signature === undefined) return false;
  if (keys === undefined || keys.length === 0) return trustPresence;
  const { verifyDetached } = await import("../signature/index.ts");
  try {
    await verifyDetached(bytes, signature, keys);
    return true;
  } catch {
    return false;
  }
}

/**
 * A pinned copy published unsigned, interrupted before its signature, or whose `.asc` does
 * not verify, gets a signature now (a good one is kept: caches hold it as immutable).
 */
async function ensurePinnedSigned(
  store: Store,
  key: string,
  bytes: Uint8Array,
  options: PublishOptions,
  repaired: string[],
): Promise<void> {
  if (options.signer === undefined) return;
  const existing = await store.get(signatureKey(key));
  if (await signatureGood(bytes, existing?.body, options.signerKeys, true)) return;
  const signature = encoder.encode(await options.signer.sign(bytes));
  await updateWithRetry(store, signatureKey(key), () => signature);
  if (existing !== undefined) repaired.push(signatureKey(key));
}

/** Rounds a signature sync rides out while its file keeps changing under concurrent writers. */
const SIGNATURE_ATTEMPTS = 50;

/**
 * Makes `<key>.asc` a good signature of what `key` holds now; repeats while `key` moves
 * meanwhile (a concurrent publisher), so the last run leaves them matching. Losing the race
 * for the .asc itself only means looking again: the winner's may already be the right one.
 */
async function syncSignature(
  store: Store,
  key: string,
  options: PublishOptions,
  repaired: string[],
): Promise<void> {
  const { signer, signerKeys } = options;
  if (signer === undefined) return;
  for (let attempt = 0; attempt < SIGNATURE_ATTEMPTS; attempt++) {
    const object = await store.get(key);
    if (object === undefined) return;
    const existing = await store.get(signatureKey(key));
    if (!(await signatureGood(object.body, existing?.body, signerKeys, false))) {
      const signature = encoder.encode(await signer.sign(object.body));
      try {
        await store.putIfMatch(signatureKey(key), signature, existing?.etag ?? null);
      } catch (error) {
        if (!(error instanceof BootstreamError && error.code === "CONFLICT")) throw error;
        await backoff(attempt);
        continue;
      }
      if (signerKeys?.length && !repaired.includes(signatureKey(key))) repaired.push(signatureKey(key));
    }
    if ((await store.head(key)) === object.etag) return;
    await backoff(attempt);
  }
}

/** What this run wrote, so that a losing precondition publish can withdraw exactly that. */
interface Written {
  /**
   * The pointer moved, already held these bytes, or its swap got no answer (it may still
   * land): nothing may be withdrawn then.
   */
  swapped?: boolean;
  /** The pinned copy this run created (not one it reused). */
  createdCopy?: string;
  /** The history entry this run added. */
  addedEntry?: { id: string; sha256: string };
}

/** The stream being published: its parsed document, value, canonical bytes and their sha256. */
interface Version {
  document: ParsedDocument<"stream">;
  stream: Stream;
  bytes: Uint8Array;
  sha: string;
}

/** Step 2: the pinned copy's id, creating the copy unless identical content is already pinned. */
async function pinCopy(
  store: Store,
  name: string,
  version: Version,
  options: PublishOptions,
  repaired: string[],
  written: Written,
): Promise<{ id: string; reused: boolean }> {
  const { stream, bytes, sha } = version;
  const { history } = await readHistory(store, name);
  const known = history.entries.find((e) => e.sha256 === sha);
  if (known !== undefined && (await store.head(pinnedKey(name, known.id))) !== undefined) {
    await ensurePinnedSigned(store, pinnedKey(name, known.id), bytes, options, repaired);
    return { id: known.id, reused: true };
  }
  for (let attempt = 1; attempt < 1000; attempt++) {
    const id = pinnedIdFor(stream.metadata["last-modified"], attempt);
    const key = pinnedKey(name, id);
    try {
      await store.putNew(key, bytes, { cacheControl: "public, max-age=31536000, immutable" });
    } catch (error) {
      if (!(error instanceof BootstreamError && error.code === "CONFLICT")) throw error;
      // Taken: by the same content (an earlier, interrupted run) or by another copy.
      const existing = await store.get(key);
      if (existing !== undefined && sha256Hex(existing.body) === sha) {
        await ensurePinnedSigned(store, key, bytes, options, repaired);
        return { id, reused: true };
      }
      continue;
    }
    written.createdCopy = key;
    await options.afterStep?.("pinned");
    if (options.signer) {
      const signature = encoder.encode(await options.signer.sign(bytes));
      await updateWithRetry(store, signatureKey(key), () => signature);
      await options.afterStep?.("signature");
    }
    return { id, reused: false };
  }
  throw new BootstreamError("CONFLICT", `too many pinned copies for ${stream.metadata["last-modified"]}`);
}

/** Step 3: adds the entry to history (newest first), merging with concurrent writers. */
async function recordHistory(
  store: Store,
  name: string,
  entry: HistoryEntry,
  options: PublishOptions,
  repaired: string[],
  written: Written,
): Promise<void> {
  const wrote = await updateHistory(store, name, (history) =>
    history.entries.some((e) => e.id === entry.id)
      ? undefined
      : { ...history, stream: name, entries: [entry, ...history.entries] },
  );
  if (wrote) written.addedEntry = { id: entry.id, sha256: entry.sha256 };
  // Also when the entry was there already: a run killed between the history and its
  // signature left a stale history.json.asc (signing what we just wrote is no repair).
  await syncSignature(store, historyKey(name), options, wrote ? [] : repaired);
}

/**
 * Makes streams/<name>.json.asc the signature of whatever the pointer holds now, copied from
 * that pinned copy's .asc; repeats if the pointer moves meanwhile, so the last publisher's
 * run leaves them matching.
 */
export async function syncPointerSignature(
  store: Store,
  name: string,
  repaired: string[] = [],
): Promise<void> {
  const key = signatureKey(pointerKey(name));
  for (let attempt = 0; attempt < 8; attempt++) {
    const pointer = await store.get(pointerKey(name));
    if (pointer === undefined) return;
    const sha = sha256Hex(pointer.body);
    const { history } = await readHistory(store, name);
    const entry = history.entries.find((e) => e.sha256 === sha);
    const signature = entry ? await store.get(signatureKey(pinnedKey(name, entry.id))) : undefined;
    const current = await store.get(key);
    if (signature === undefined) {
      // An unsigned copy must not keep the signature of an earlier pointer.
      if (current !== undefined) await store.delete(key);
    } else if (current === undefined || Buffer.compare(current.body, signature.body) !== 0) {
      await updateWithRetry(store, key, () => signature.body);
      if (current !== undefined && !repaired.includes(key)) repaired.push(key);
    }
    if ((await store.head(pointerKey(name))) === pointer.etag) return;
  }
}

/** Removes what killed writers left under the stream's keys (a live writer's files stay). */
async function clearLeftovers(store: Store, name: string): Promise<ClearedLeftover[]> {
  const found = [
    ...(await store.clearLeftovers(pointerKey(name))),
    ...(await store.clearLeftovers(`streams/${name}/`)),
  ];
  return found.map(({ key, kind, ageMs, owner }) => ({ key, kind, ageMs, ...(owner ? { owner } : {}) }));
}

/** The stream the pointer holds now; damage there is the store's problem, not the new stream's. */
function currentStream(store: Store, name: string, body: Uint8Array): Stream {
  try {
    return acceptDocument(checkDocument(body, { kind: "stream" })).data as Stream;
  } catch (error) {
    const why = error instanceof BootstreamError ? error.message.split("\n")[0] : String(error);
    throw new BootstreamError(
      "IO",
      `${pointerKey(name)} in ${store.location} is corrupt (not a valid stream: ${why}); ` +
        "lint cannot compare against it: publish with --force to replace it",
      { path: pointerKey(name), cause: error },
    );
  }
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.pointer || "/"}: ${v.rule}: ${v.message}`).join("\n");
}

/** Whether the pointer, holding `sha` (undefined: absent), satisfies `pre` (RFC 9110 §13.2.2 order). */
export function preconditionHolds(pre: PointerPrecondition, sha: string | undefined): boolean {
  const { ifMatch, ifNoneMatch } = pre;
  if (ifMatch !== undefined) {
    if (sha === undefined) return false;
    if (ifMatch !== "*" && !ifMatch.includes(sha)) return false;
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch === "*") return sha === undefined;
    if (sha !== undefined && ifNoneMatch.includes(sha)) return false;
  }
  return true;
}

function describePrecondition(pre: PointerPrecondition): string {
  const list = (v: "*" | readonly string[]) => (v === "*" ? "*" : v.map((t) => t.slice(0, 12)).join(", "));
  return [
    ...(pre.ifMatch !== undefined ? [`If-Match ${list(pre.ifMatch)}`] : []),
    ...(pre.ifNoneMatch !== undefined ? [`If-None-Match ${list(pre.ifNoneMatch)}`] : []),
  ].join(" and ");
}

function preconditionFailed(
  store: Store,
  name: string,
  pre: PointerPrecondition,
  why: string,
): BootstreamError {
  return new BootstreamError(
    "CONFLICT",
    `${pointerKey(name)} in ${store.location} does not satisfy ${describePrecondition(pre)}: ${why}`,
    { path: pointerKey(name) },
  );
}

async function pointerHolds(store: Store, name: string, sha: string): Promise<boolean> {
  const pointer = await store.get(pointerKey(name));
  return pointer !== undefined && sha256Hex(pointer.body) === sha;
}

/**
 * A losing precondition publish takes back what it wrote (module comment): its history entry,
 * then the pinned copy and .asc it created. Not while the pointer holds these bytes (another
 * publisher of the same bytes reused the copy and won); `restore` puts them back if that
 * happened meanwhile.
 */
async function withdraw(
  store: Store,
  name: string,
  sha: string,
  written: Written,
  options: PublishOptions,
  restore: () => Promise<unknown>,
): Promise<void> {
  const { createdCopy, addedEntry } = written;
  if (createdCopy === undefined && addedEntry === undefined) return;
  if (await pointerHolds(store, name, sha)) return;
  if (addedEntry !== undefined) {
    const removed = await updateHistory(store, name, (history) => {
      const entries = history.entries.filter(
        (e) => !(e.id === addedEntry.id && e.sha256 === addedEntry.sha256),
      );
      return entries.length === history.entries.length ? undefined : { ...history, entries };
    });
    if (removed) await syncSignature(store, historyKey(name), options, []);
  }
  await options.afterStep?.("withdrawn");
  if (createdCopy !== undefined) {
    // The signature first: a kill in between leaves a copy without .asc, never a dangling .asc.
    await store.delete(signatureKey(createdCopy));
    await store.delete(createdCopy);
  }
  if (await pointerHolds(store, name, sha)) await restore();
}

async function publishOnce(store: Store, version: Version, options: PublishOptions): Promise<PublishResult> {
  const { document, stream, sha } = version;
  const name = checkStreamName(options.name ?? stream.stream);
  const repaired: string[] = [];
  const pre = options.pointerPrecondition;

  // 1. What the pointer holds now: the lint baseline and the compare-and-swap version.
  const current = await store.get(pointerKey(name));
  const previousSha = current ? sha256Hex(current.body) : undefined;
  // A precondition that fails now fails before anything is written.
  if (pre !== undefined && !preconditionHolds(pre, previousSha)) {
    const holds = previousSha === undefined ? "it does not exist" : `it holds ${previousSha.slice(0, 12)}`;
    throw preconditionFailed(store, name, pre, `${holds}; nothing was written`);
  }
  const cleared = await clearLeftovers(store, name);
  // A conditional publish changes nothing but its own stream version; others complete the work.
  if (pre === undefined) await recordOrphans(store, name, options, repaired);
  if (!options.force) {
    const previous = current ? currentStream(store, name, current.body) : undefined;
    const violations = lintDocument(document, {
      ...(previous && previousSha !== sha ? { previous } : {}),
      ...(options.policy ? { policy: options.policy } : {}),
    });
    if (violations.length > 0) {
      throw new BootstreamError(
        "POLICY_VIOLATION",
        `refusing to publish ${name}: ${violations.length} lint violation${violations.length === 1 ? "" : "s"} (use --force to publish anyway)\n${formatViolations(violations)}`,
        { issues: violations.map((v) => ({ pointer: v.pointer, message: `${v.rule}: ${v.message}` })) },
      );
    }
  }

  const written: Written = {};
  try {
    const result = await writeAndSwap(store, name, version, current, options, repaired, written);
    return { ...result, cleared };
  } catch (error) {
    if (pre === undefined || written.swapped) throw error;
    // Lost (or failed) before moving the pointer: this run published nothing, so it keeps nothing.
    const restore = () => pinAndRecord(store, name, version, options, [], {});
    let undone = "what this run wrote was withdrawn";
    try {
      await withdraw(store, name, sha, written, options, restore);
    } catch (undo) {
      const why = undo instanceof BootstreamError ? undo.message : String(undo);
      undone = `withdrawing what this run wrote failed (${why}); fsck lists what is left`;
    }
    if (!(error instanceof BootstreamError && error.code === "CONFLICT")) throw error;
    throw new BootstreamError("CONFLICT", `${error.message}; ${undone}`, {
      path: pointerKey(name),
      cause: error,
    });
  }
}

/** The history entry of a pinned copy, published now. */
function historyEntry(
  id: string,
  stream: Stream,
  bytes: Uint8Array,
  sha256: string,
  options: PublishOptions,
): HistoryEntry {
  return {
    id,
    "last-modified": stream.metadata["last-modified"],
    sha256,
    size: bytes.byteLength,
    releases: newestReleases(stream),
    published: formatTimestamp(options.now?.() ?? new Date()),
  };
}

/**
 * Pinned copies a killed publisher wrote but never recorded in history: recorded now (and
 * signed, when signing), so that any later publish completes an interrupted one, not only a
 * rerun of the same bytes. A copy that is not a valid stream stays out (fsck names it).
 */
async function recordOrphans(
  store: Store,
  name: string,
  options: PublishOptions,
  repaired: string[],
): Promise<void> {
  const prefix = `streams/${name}/`;
  const ids = (await store.list(prefix))
    .map((key) => /^(\d{8}(?:-\d{1,3})?)\.json$/.exec(key.slice(prefix.length))?.[1])
    .filter((id): id is string => id !== undefined);
  if (ids.length === 0) return;
  const { history } = await readHistory(store, name);
  const recorded = new Set(history.entries.map((e) => e.id));
  for (const id of ids) {
    if (recorded.has(id)) continue;
    const copy = await store.get(pinnedKey(name, id));
    if (copy === undefined) continue;
    let stream: Stream;
    try {
      stream = acceptDocument(checkDocument(copy.body, { kind: "stream" })).data as Stream;
    } catch {
      continue;
    }
    const entry = historyEntry(id, stream, copy.body, sha256Hex(copy.body), options);
    await ensurePinnedSigned(store, pinnedKey(name, id), copy.body, options, repaired);
    await recordHistory(store, name, entry, options, repaired, {});
    repaired.push(pinnedKey(name, id));
  }
}

/** Steps 2 and 3: the immutable copy and its history entry. */
async function pinAndRecord(
  store: Store,
  name: string,
  version: Version,
  options: PublishOptions,
  repaired: string[],
  written: Written,
): Promise<{ id: string; reused: boolean }> {
  const { id, reused } = await pinCopy(store, name, version, options, repaired, written);
  const entry = historyEntry(id, version.stream, version.bytes, version.sha, options);
  await recordHistory(store, name, entry, options, repaired, written);
  return { id, reused };
}

/** Steps 2 to 4, recording in `written` what they wrote. */
async function writeAndSwap(
  store: Store,
  name: string,
  version: Version,
  current: StoredObject | undefined,
  options: PublishOptions,
  repaired: string[],
  written: Written,
): Promise<Omit<PublishResult, "cleared">> {
  const { bytes, sha } = version;
  // 2. + 3. The immutable copy and its history entry.
  const { id, reused } = await pinAndRecord(store, name, version, options, repaired, written);
  await options.afterStep?.("history");

  // 4. Move the pointer, only from the version we linted against.
  const previousSha = current ? sha256Hex(current.body) : undefined;
  const base: Omit<PublishResult, "cleared"> = {
    name,
    id,
    sha256: sha,
    pointerMoved: false,
    reusedPinnedCopy: reused,
    repaired,
  };
  if (previousSha !== undefined) base.previousSha256 = previousSha;
  if (previousSha === sha) {
    // Nothing to move (and the entry names what the pointer holds: nothing to withdraw), but
    // an earlier run may have died before the pointer's signature.
    written.swapped = true;
    await syncPointerSignature(store, name, repaired);
    return base;
  }
  try {
    await store.putIfMatch(pointerKey(name), bytes, current?.etag ?? null, {
      cacheControl: "public, max-age=60",
    });
  } catch (error) {
    // Only a pointer that really moved is "another publisher"; a held lock says so itself.
    const moved =
      error instanceof BootstreamError &&
      error.code === "CONFLICT" &&
      (await changedSince(store, pointerKey(name), current?.etag));
    const pre = options.pointerPrecondition;
    if (moved && pre !== undefined) {
      throw preconditionFailed(
        store,
        name,
        pre,
        `another publisher moved it from ${previousSha?.slice(0, 12) ?? "nothing"} while this one ran`,
      );
    }
    if (moved) {
      throw new BootstreamError(
        "CONFLICT",
        `${pointerKey(name)} in ${store.location} was moved by another publisher while this one ran; ` +
          `the pinned copy ${id} is kept; publish again (or use --retry) to lint against the new stream and move the pointer`,
        { path: pointerKey(name), cause: error },
      );
    }
    // No answer (a deadline, a dropped connection): the swap may still land, so nothing it
    // would name may be withdrawn. Publishing again finds out and completes the work.
    if (error instanceof BootstreamError && (error.code === "TIMEOUT" || error.code === "UNAVAILABLE"))
      written.swapped = true;
    throw error;
  }
  written.swapped = true;
  await options.afterStep?.("pointer");
  // A reused copy or entry may belong to a losing precondition publisher that withdrew it
  // before this swap: the pointer must name a pinned copy in history, so put it back.
  if (written.createdCopy === undefined || written.addedEntry === undefined) {
    const { history } = await readHistory(store, name);
    const listed = history.entries.some((e) => e.sha256 === sha && e.id === id);
    if (!listed || (await store.head(pinnedKey(name, id))) === undefined)
      await pinAndRecord(store, name, version, options, repaired, {});
  }
  await syncPointerSignature(store, name, repaired);
  return { ...base, pointerMoved: true };
}

/**
 * Publishes a stream (text or bytes, or the document parsed from them) into `store`. Lint
 * checks the source text for canonical form; the store gets the canonical text.
 */
export async function publishStream(
  store: Store,
  content: string | Uint8Array | ParsedDocument,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const document = streamDocument(content);
  const bytes = encoder.encode(document.canonical);
  const version: Version = { document, stream: document.data, bytes, sha: sha256Hex(bytes) };
  // A precondition names the version to swap from: a retry would swap from a later one.
  const retries = options.pointerPrecondition === undefined ? (options.retries ?? 0) : 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await publishOnce(store, version, options);
    } catch (error) {
      // Only the pointer race surfaces as CONFLICT here; history conflicts are merged inside.
      const lostRace = error instanceof BootstreamError && error.code === "CONFLICT";
      if (!lostRace || attempt >= retries) throw error;
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (1 + Math.random())));
    }
  }
}

/** Points streams/<name>.json back at a pinned copy (verified against history first). */
export async function rollbackStream(
  store: Store,
  name: string,
  id: string,
): Promise<{ sha256: string; previousSha256?: string }> {
  checkStreamName(name);
  const { history } = await readHistory(store, name);
  const entry = history.entries.find((e) => e.id === id);
  if (entry === undefined) {
    const ids = history.entries.map((e) => e.id);
    throw new BootstreamError(
      "NOT_FOUND",
      `no pinned copy ${id} of ${name}; available: ${ids.join(", ") || "none"}`,
    );
  }
  const pinned = await store.get(pinnedKey(name, id));
  if (pinned === undefined)
    throw new BootstreamError("NOT_FOUND", `${pinnedKey(name, id)} is missing from ${store.location}`);
  const sha = sha256Hex(pinned.body);
  if (sha !== entry.sha256) {
    throw new BootstreamError(
      "CHECKSUM_MISMATCH",
      `${pinnedKey(name, id)} has sha256 ${sha}, history says ${entry.sha256}; not rolling back`,
    );
  }
  const current = await store.get(pointerKey(name));
  const previous = current ? sha256Hex(current.body) : undefined;
  if (previous !== sha) {
    await store.putIfMatch(pointerKey(name), pinned.body, current?.etag ?? null, {
      cacheControl: "public, max-age=60",
    });
  }
  await syncPointerSignature(store, name);
  return { sha256: sha, ...(previous ? { previousSha256: previous } : {}) };
}
