/**
 * The freshness rules a client applies to a stream it accepts (TUF's rollback and freeze
 * attacks, for one document): never older than the newest accepted from the same place, never
 * the same last-modified with other bytes, never older than the client's --max-age.
 */
import { BootstreamError } from "../errors.ts";
import { decodeDocument } from "../schema/parse.ts";

/** What a client remembers of the newest stream it accepted from one URL. */
export interface AcceptedStream {
  lastModified: string;
  sha256: string;
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(?:\d+[smhdw])+$/;

/** Parses `14d`, `36h`, `1d12h`, `90m`, `3600s`, `2w` into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed))
    throw new BootstreamError(
      "USAGE",
      `${JSON.stringify(text)} is not a duration: expected a number and a unit (s, m, h, d, w), e.g. 14d or 1d12h`,
    );
  let ms = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)([smhdw])/g))
    ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  if (ms <= 0 || !Number.isSafeInteger(ms))
    throw new BootstreamError("USAGE", `${JSON.stringify(text)}: expected a duration above zero`);
  return ms;
}

/** `14d 3h`, `5h 20m`, `42s`: an age as a person reads it. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds}s`;
}

/** FROZEN when the stream was last modified longer than `maxAgeMs` before `now`. */
export function checkMaxAge(name: string, lastModified: string, maxAgeMs: number, now: Date): void {
  const modified = Date.parse(lastModified);
  if (Number.isNaN(modified))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}: last-modified ${JSON.stringify(lastModified)} is not a date`,
      {
        path: "/metadata/last-modified",
      },
    );
  const age = now.getTime() - modified;
  if (age > maxAgeMs)
    throw new BootstreamError(
      "FROZEN",
      `${name} was last modified ${lastModified}, ${formatAge(age)} ago, more than the allowed ${formatAge(maxAgeMs)} (--max-age): the mirror or server may have stopped updating`,
      { path: name },
    );
}

/** How far ahead of this machine's clock a last-modified may be (clocks drift; publishers too). */
export const MAX_CLOCK_AHEAD_MS = 86_400_000;

/**
 * FROZEN when the stream claims to be modified more than a day after `now`. Remembering such a
 * stream would refuse every genuine one as a rollback until that date (and --max-age would
 * never see it age): one stream signed with a compromised key, or by a publisher with a
 * wrong clock, would freeze every client that saw it.
 */
export function checkNotAhead(name: string, lastModified: string, now: Date): void {
  const ahead = Date.parse(lastModified) - now.getTime();
  if (ahead > MAX_CLOCK_AHEAD_MS)
    throw new BootstreamError(
      "FROZEN",
      `${name} was last modified ${lastModified}, ${formatAge(ahead)} ahead of this machine's clock (${now.toISOString()}), more than the ${formatAge(MAX_CLOCK_AHEAD_MS)} allowed: refusing it, since remembering it would refuse every genuine stream until then (check this machine's clock)`,
      { path: name },
    );
}

/**
 * Whether a stream may replace the newest accepted one: "newer" (record it), "same" (the very
 * bytes again), or a ROLLBACK error naming both timestamps.
 */
export function judgeAgainstAccepted(
  name: string,
  candidate: AcceptedStream,
  accepted: AcceptedStream | undefined,
): "first" | "newer" | "same" {
  if (accepted === undefined) return "first";
  const before = Date.parse(accepted.lastModified);
  const now = Date.parse(candidate.lastModified);
  if (now > before) return "newer";
  if (now === before) {
    if (candidate.sha256 === accepted.sha256) return "same";
    throw new BootstreamError(
      "ROLLBACK",
      `${name} has last-modified ${candidate.lastModified}, the same as the stream accepted before, but other bytes (sha256 ${candidate.sha256}, accepted ${accepted.sha256}): one of them was not published by the stream's owner`,
      { path: name },
    );
  }
  throw new BootstreamError(
    "ROLLBACK",
    `${name} has last-modified ${candidate.lastModified}, older than ${accepted.lastModified} accepted before from the same place: refusing a rollback (--allow-rollback accepts it once)`,
    { path: name },
  );
}

/** A stream's /metadata/last-modified as written, or undefined when it is not JSON or has none. */
export function lastModifiedIn(bytes: Uint8Array): string | undefined {
  let value: unknown;
  try {
    value = decodeDocument(bytes).value;
  } catch {
    return undefined;
  }
  return lastModifiedOfValue(value);
}

/** lastModifiedIn for a value already decoded. */
export function lastModifiedOfValue(value: unknown): string | undefined {
  const metadata = (value as { metadata?: unknown } | null)?.metadata;
  const lastModified = (metadata as { "last-modified"?: unknown } | null | undefined)?.["last-modified"];
  return typeof lastModified === "string" ? lastModified : undefined;
}
