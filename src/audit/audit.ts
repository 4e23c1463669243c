/**
 * Audit of a published stream, as a cron job or a CI monitor of a mirror runs it: the
 * pointer is the newest entry of history; every pinned copy history lists exists, hashes to
 * its digest and size, and (given keys) carries a valid signature, as does the pointer;
 * last-modified strictly increases along history; and history only grew at its newest end
 * since the last audit (state/ keeps what that audit saw). Problems are findings, not
 * errors: only an unreadable pointer, store or state is an error.
 */
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { type History, type HistoryEntry, parseHistory } from "../publish/history.ts";
import { historyKey, pinnedKey, pointerKey, signatureKey } from "../publish/layout.ts";
import { parseStream } from "../schema/parse.ts";
import { DEFAULT_MAX_BYTES, formatBytes, HISTORY_MAX_BYTES, SIGNATURE_MAX_BYTES } from "../source/read.ts";
import { lastModifiedIn } from "../trust/freshness.ts";
import { mirrorRewriteIssues, upstreamCopyNames } from "../trust/mirror-rewrite.ts";
import type { PublishedStream } from "./places.ts";
import { checkAppendOnly, type SeenEntry } from "./state.ts";

/** A pointer finding is read again once after this pause: a publish may have been between its steps. */
const RECHECK_AFTER_MS = 1000;

export const AUDIT_CHECKS = [
  "pointer-not-newest",
  "pinned-missing",
  "pinned-digest",
  "signature",
  "order",
  "history-rewritten",
  "history-corrupt",
  "mirror-rewrite",
] as const;
export type AuditCheck = (typeof AUDIT_CHECKS)[number];

export interface AuditFinding {
  check: AuditCheck;
  stream: string;
  /** The pinned copy (history entry) it is about; none for the pointer or history as a whole. */
  id?: string;
  message: string;
}

export interface StreamAudit {
  stream: string;
  source: string;
  /** Entries in history (pinned copies checked). */
  entries: number;
  checked: {
    /** Whether signatures were verified (keys were given). */
    signatures: boolean;
    /** Whether history was compared with the last audit's (a state directory, a readable history). */
    appendOnly: boolean;
  };
  findings: AuditFinding[];
  /** Rewrites of history that `acceptRewrite` recorded as the new baseline instead of reporting. */
  accepted?: AuditFinding[];
  /** Whether the current history was recorded as the baseline of the next audit. */
  recorded?: boolean;
}

export interface AuditOptions {
  /** Keys any of which must have signed the pointer and every pinned copy; none: not checked. */
  keys?: readonly Key[];
  /** Trust state directory holding what the last audit saw; false: no append-only check. */
  stateDir?: string | false;
  /** Record the current history even when it rewrote the one the last audit saw. */
  acceptRewrite?: boolean;
  /** Whether a missing pointer is an error (the SOURCE named it) rather than a finding. */
  pointerRequired?: boolean;
  /** Pause before reading a stream again whose pointer looked wrong (default 1 s). */
  recheckAfterMs?: number;
  now?: () => Date;
}

/** Audits one published stream. Throws only when it cannot be read (IO, TIMEOUT, ...). */
export async function auditStream(place: PublishedStream, options: AuditOptions = {}): Promise<StreamAudit> {
  let pass = await inspect(place, options);
  const pointerLooksWrong = pass.findings.some(
    (f) => f.check === "pointer-not-newest" || (f.check === "signature" && f.id === undefined),
  );
  // Publishing writes history, then the pointer, then its .asc: an audit between two of
  // those steps sees a mismatch that the publish then resolves.
  if (pointerLooksWrong) {
    await new Promise((r) => setTimeout(r, options.recheckAfterMs ?? RECHECK_AFTER_MS));
    pass = await inspect(place, options);
  }
  const audit: StreamAudit = {
    stream: place.name,
    source: place.source,
    entries: pass.entries?.length ?? 0,
    checked: { signatures: (options.keys?.length ?? 0) > 0, appendOnly: false },
    findings: pass.findings,
  };
  if (options.stateDir === false || options.stateDir === undefined || pass.entries === undefined)
    return audit;
  const seen: SeenEntry[] = pass.entries.map(({ id, sha256 }) => ({ id, sha256 })).reverse();
  const outcome = await checkAppendOnly(options.stateDir, place.identity, seen, {
    ...(options.acceptRewrite ? { acceptRewrite: true } : {}),
    ...(options.now ? { now: options.now() } : {}),
  });
  audit.checked.appendOnly = true;
  audit.recorded = outcome.recorded;
  const rewritten = outcome.departures.map(
    (d): AuditFinding => ({ check: "history-rewritten", stream: place.name, id: d.id, message: d.message }),
  );
  if (options.acceptRewrite && rewritten.length > 0) audit.accepted = rewritten;
  else audit.findings.push(...rewritten);
  return audit;
}

interface Pass {
  findings: AuditFinding[];
  /** History's entries, newest first; undefined when history is missing or corrupt. */
  entries: HistoryEntry[] | undefined;
}

async function inspect(place: PublishedStream, options: AuditOptions): Promise<Pass> {
  const findings: AuditFinding[] = [];
  const stream = place.name;
  const found: Found = (check, message, id) =>
    findings.push({ check, stream, ...(id === undefined ? {} : { id }), message });
  const keys = options.keys ?? [];
  const verify = keys.length > 0 ? (await import("../signature/index.ts")).verifyDetached : undefined;
  const signatureOf = (key: string) =>
    verify === undefined ? Promise.resolve(undefined) : readSignature(place, signatureKey(key));
  /** A finding unless `signature` is a valid signature of `bytes` by one of the keys. */
  const judge = async (bytes: Uint8Array, signature: Signature, key: string, what: string, id?: string) => {
    if (verify === undefined) return;
    const at = place.where(signatureKey(key));
    if (signature === "too-large")
      found("signature", `${what} has no usable signature: ${at} is larger than 1 MiB`, id);
    else if (signature === undefined) found("signature", `${what} is not signed: ${at} does not exist`, id);
    else
      try {
        await verify(bytes, signature, keys, { exactBytes: true });
      } catch (error) {
        if (!(error instanceof BootstreamError)) throw error;
        found("signature", `${what} has a bad signature ${at}: ${error.message}`, id);
      }
  };

  // A `bootstream mirror` directory has no history: its trust is the upstream copy beside it.
  const upstreamAt = pointerKey(stream).replace(/[^/]+$/, upstreamCopyNames(stream)[0] as string);
  const upstream = await place.read(upstreamAt, DEFAULT_MAX_BYTES);
  if (upstream !== undefined && (await place.read(historyKey(stream), HISTORY_MAX_BYTES)) === undefined) {
    await inspectMirror(place, upstreamAt, upstream, found, signatureOf, judge);
    return { findings, entries: undefined };
  }

  // History before the pointer: publishing moves the pointer only after history lists the
  // new copy, so a pointer read later is never older than the history read first.
  const entries = (await readHistoryOf(place, found))?.entries;

  const pointerAt = pointerKey(stream);
  // The .asc before the pointer, for the same reason: publishing writes it after the pointer.
  const pointerSignature = await signatureOf(pointerAt);
  const pointer = await place.read(pointerAt, DEFAULT_MAX_BYTES);
  if (pointer === undefined) {
    if (options.pointerRequired)
      throw new BootstreamError("IO", `cannot audit ${place.source}: not found`, { path: place.source });
    found("pointer-not-newest", `there is no pointer ${place.where(pointerAt)}`);
  } else {
    if (entries !== undefined) checkPointer(sha256Hex(pointer), entries, found);
    await judge(pointer, pointerSignature, pointerAt, "the pointer");
  }
  if (entries === undefined) return { findings, entries };

  checkOrder(entries, found);
  for (const entry of entries) {
    const key = pinnedKey(stream, entry.id);
    const bytes = await readPinned(place, key, entry, found);
    if (bytes !== undefined)
      await judge(bytes, await signatureOf(key), key, `pinned copy ${entry.id}`, entry.id);
  }
  return { findings, entries };
}

type Found = (check: AuditCheck, message: string, id?: string) => void;
type Judge = (bytes: Uint8Array, signature: Signature, key: string, what: string) => Promise<void>;

/**
 * A mirror made by `bootstream mirror`: the upstream copy must carry a valid signature and the
 * mirror's stream must be that copy with only artifact URLs re-based (what clients check);
 * a signature of the mirror's own (`mirror --sign-key`) must be valid when present.
 */
async function inspectMirror(
  place: PublishedStream,
  upstreamAt: string,
  upstream: Uint8Array,
  found: Found,
  signatureOf: (key: string) => Promise<Signature>,
  judge: Judge,
): Promise<void> {
  const pointerAt = pointerKey(place.name);
  const pointerSignature = await signatureOf(pointerAt);
  const pointer = await place.read(pointerAt, DEFAULT_MAX_BYTES);
  await judge(upstream, await signatureOf(upstreamAt), upstreamAt, "the upstream copy");
  if (pointer === undefined) {
    found("pointer-not-newest", `there is no pointer ${place.where(pointerAt)}`);
    return;
  }
  if (pointerSignature !== undefined)
    await judge(pointer, pointerSignature, pointerAt, "the mirror's stream");
  let issues: string[];
  try {
    issues = mirrorRewriteIssues(parseStream(upstream), parseStream(pointer)).map(
      (issue) => `${issue.pointer || "/"}: ${issue.message}`,
    );
  } catch (error) {
    if (!(error instanceof BootstreamError)) throw error;
    issues = [error.message];
  }
  for (const issue of issues)
    found(
      "mirror-rewrite",
      `${place.where(pointerAt)} is not a faithful rewrite of ${place.where(upstreamAt)}: ${issue}`,
    );
}

/** History, or undefined after a history-corrupt finding (missing, too large, not a history). */
async function readHistoryOf(place: PublishedStream, found: Found): Promise<History | undefined> {
  const at = historyKey(place.name);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await place.read(at, HISTORY_MAX_BYTES);
  } catch (error) {
    if (!(error instanceof BootstreamError && error.code === "TOO_LARGE")) throw error;
    found("history-corrupt", error.message);
    return undefined;
  }
  if (bytes === undefined) {
    found(
      "history-corrupt",
      `${place.where(at)} does not exist; a published stream keeps its history beside the pointer`,
    );
    return undefined;
  }
  let history: History;
  try {
    history = parseHistory(bytes, place.where(at));
  } catch (error) {
    if (!(error instanceof BootstreamError)) throw error;
    found("history-corrupt", error.message);
    return undefined;
  }
  if (history.stream !== place.name) {
    found(
      "history-corrupt",
      `${place.where(at)} is the history of stream ${history.stream}, not ${place.name}`,
    );
    return undefined;
  }
  const ids = new Set<string>();
  for (const entry of history.entries) {
    if (ids.has(entry.id)) {
      found("history-corrupt", `${place.where(at)} lists ${entry.id} more than once`, entry.id);
      return undefined;
    }
    ids.add(entry.id);
  }
  return history;
}

/** A signature's bytes, "too-large", or undefined when there is none. */
type Signature = Uint8Array | "too-large" | undefined;

async function readSignature(place: PublishedStream, key: string): Promise<Signature> {
  try {
    return await place.read(key, SIGNATURE_MAX_BYTES);
  } catch (error) {
    if (error instanceof BootstreamError && error.code === "TOO_LARGE") return "too-large";
    throw error;
  }
}

function checkPointer(sha256: string, entries: readonly HistoryEntry[], found: Found): void {
  const newest = entries[0];
  if (newest === undefined) {
    found("pointer-not-newest", "history lists no pinned copy, so the pointer is none of them");
    return;
  }
  if (newest.sha256 === sha256) return;
  const older = entries.find((e) => e.sha256 === sha256);
  found(
    "pointer-not-newest",
    older === undefined
      ? `the pointer (sha256 ${sha256}) is no pinned copy in history; the newest is ${newest.id} (sha256 ${newest.sha256})`
      : `the pointer is pinned copy ${older.id} (last-modified ${older["last-modified"]}), not the newest ${newest.id} (${newest["last-modified"]}): a rollback, or a mirror that stopped updating`,
  );
}

/** Newest first, so each entry must be strictly older than the one listed before it. */
function checkOrder(entries: readonly HistoryEntry[], found: Found): void {
  for (let i = 1; i < entries.length; i++) {
    const newer = entries[i - 1] as HistoryEntry;
    const entry = entries[i] as HistoryEntry;
    const a = Date.parse(newer["last-modified"]);
    const b = Date.parse(entry["last-modified"]);
    if (b < a) continue;
    found(
      "order",
      b === a
        ? `${entry.id} has the same last-modified ${entry["last-modified"]} as ${newer.id} with other bytes: a client that accepted one refuses the other as a rollback`
        : `${entry.id} (last-modified ${entry["last-modified"]}) is listed as older than ${newer.id} (${newer["last-modified"]}): last-modified must increase from each entry to the next newer one`,
      entry.id,
    );
  }
}

/** The pinned copy's bytes when it exists and is no larger than history says; findings otherwise. */
async function readPinned(
  place: PublishedStream,
  key: string,
  entry: HistoryEntry,
  found: Found,
): Promise<Uint8Array | undefined> {
  // Never more than history says it holds: a hostile mirror cannot make us read more.
  const max = Math.min(DEFAULT_MAX_BYTES, entry.size);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await place.read(key, max);
  } catch (error) {
    if (!(error instanceof BootstreamError && error.code === "TOO_LARGE")) throw error;
    found(
      "pinned-digest",
      entry.size > DEFAULT_MAX_BYTES
        ? `history says the pinned copy is ${entry.size} bytes, more than the ${formatBytes(DEFAULT_MAX_BYTES)} a stream may have`
        : `the pinned copy is larger than the ${entry.size} bytes history says`,
      entry.id,
    );
    return undefined;
  }
  if (bytes === undefined) {
    found("pinned-missing", `history lists ${entry.id}, but ${place.where(key)} does not exist`, entry.id);
    return undefined;
  }
  const sha256 = sha256Hex(bytes);
  if (bytes.byteLength !== entry.size)
    found(
      "pinned-digest",
      `pinned copy is ${bytes.byteLength} bytes, history says ${entry.size} (sha256 ${sha256}, history says ${entry.sha256})`,
      entry.id,
    );
  else if (sha256 !== entry.sha256)
    found("pinned-digest", `pinned copy hashes to ${sha256}, history says ${entry.sha256}`, entry.id);
  else {
    // The copy is what history recorded, so its own last-modified must be the one history lists.
    const own = lastModifiedIn(bytes);
    if (own === undefined || Date.parse(own) !== Date.parse(entry["last-modified"]))
      found(
        "history-corrupt",
        `history says ${entry.id} was last modified ${entry["last-modified"]}, the pinned copy says ${own ?? "nothing (no /metadata/last-modified)"}`,
        entry.id,
      );
  }
  return bytes;
}
