/**
 * What an audit remembers of a published stream's history, so the next audit can tell an
 * append from a rewrite: the entries it saw (oldest first, id and sha256) and the head of a
 * digest chain over them. One compare-and-swap log per audited stream in the trust state
 * directory, so two audits of the same mirror at once never lose or corrupt a record.
 */
import { join } from "node:path";
import { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { RecordLog } from "../files/record-log.ts";
import { sha256 } from "../schema/common.ts";

export interface SeenEntry {
  id: string;
  sha256: string;
}

const recordSchema = z.object({
  /** The audited stream's identity (its pointer as a URL). */
  identity: z.string(),
  /** The history the last recording audit saw, oldest first. */
  entries: z.array(z.object({ id: z.string(), sha256 })),
  /** chain_i = sha256(chain_{i-1} + id_i + sha256_i), chain_0 = "": the head over `entries`. */
  chain: z.string().regex(/^([0-9a-f]{64})?$/),
  auditedAt: z.string(),
  /** Set when `--accept-rewrite` recorded a history that was not an append of the one before. */
  acceptedRewrite: z.boolean().optional(),
});
type AuditRecord = z.infer<typeof recordSchema>;

/** The digest chain head over entries, oldest first ("" for none). */
export function chainOf(entries: readonly SeenEntry[]): string {
  let head = "";
  for (const { id, sha256 } of entries) head = sha256Hex(`${head}${id}${sha256}`);
  return head;
}

/** How the current history departs from the remembered one: one sentence per departure. */
export interface Departure {
  id: string;
  message: string;
}

/**
 * Where `current` (oldest first) is not `seen` with entries appended at the newest end: an
 * entry seen before that is gone or now has other bytes, or a new entry placed among the
 * entries seen before.
 */
export function departures(seen: readonly SeenEntry[], current: readonly SeenEntry[]): Departure[] {
  const found: Departure[] = [];
  const byId = new Map(current.map((e) => [e.id, e]));
  for (const before of seen) {
    const now = byId.get(before.id);
    if (now === undefined)
      found.push({
        id: before.id,
        message: `history no longer lists ${before.id} (sha256 ${before.sha256}), which the last audit saw`,
      });
    else if (now.sha256 !== before.sha256)
      found.push({
        id: before.id,
        message: `history now says ${before.id} has sha256 ${now.sha256}; the last audit saw ${before.sha256}`,
      });
  }
  if (found.length > 0) return found;
  // Every entry seen is still there with its digest: they must also be the oldest ones, in order.
  const seenIds = new Set(seen.map((e) => e.id));
  for (const [i, entry] of current.slice(0, seen.length).entries()) {
    if (entry.id === seen[i]?.id) continue;
    if (!seenIds.has(entry.id))
      found.push({
        id: entry.id,
        message: `history lists ${entry.id} among entries the last audit saw; new entries may only be added as the newest`,
      });
    else
      found.push({
        id: entry.id,
        message: `history moved ${entry.id}, which the last audit saw, to another place`,
      });
  }
  return found;
}

export interface StateOutcome {
  /** How the history departs from what the last audit recorded (none: an append, or the first audit). */
  departures: Departure[];
  /** Whether this audit recorded the current history. */
  recorded: boolean;
}

/**
 * Compares the current history (oldest first) with the one the last audit of `identity`
 * recorded and records it when it is an append (or when `acceptRewrite`). A rewrite is not
 * recorded, so every later audit reports it again until an operator accepts it.
 */
export async function checkAppendOnly(
  stateDir: string,
  identity: string,
  current: readonly SeenEntry[],
  options: { acceptRewrite?: boolean; now?: Date } = {},
): Promise<StateOutcome> {
  const dir = join(stateDir, "audit", sha256Hex(identity));
  const log = new RecordLog(dir, { schema: recordSchema, what: `audit state of ${identity}` });
  const entries = current.map(({ id, sha256 }) => ({ id, sha256 }));
  const chain = chainOf(entries);
  let outcome: StateOutcome = { departures: [], recorded: false };
  await log.update((last) => {
    if (last !== undefined && chainOf(last.entries) !== last.chain)
      throw new BootstreamError(
        "IO",
        `${dir} (audit state of ${identity}) is damaged: its digest chain does not match its entries; remove it to start over`,
        { path: dir },
      );
    const found = last === undefined ? [] : departures(last.entries, entries);
    const same = last !== undefined && last.chain === chain && found.length === 0;
    const record = found.length === 0 || options.acceptRewrite === true;
    outcome = { departures: found, recorded: record && !same };
    if (!record || same) return undefined;
    const next: AuditRecord = {
      identity,
      entries,
      chain,
      auditedAt: (options.now ?? new Date()).toISOString(),
      ...(found.length > 0 ? { acceptedRewrite: true } : {}),
    };
    return next;
  });
  return outcome;
}
