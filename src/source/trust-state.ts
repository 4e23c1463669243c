/**
 * The client's trust state: per stream URL, the newest stream it accepted (last-modified and
 * sha256), so an older one is refused later. One compare-and-swap log per URL, so concurrent
 * clients never lose the newest entry.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { sha256Hex } from "../files/hash.ts";
import { RecordLog } from "../files/record-log.ts";
import { sha256 } from "../schema/common.ts";
import { type AcceptedStream, judgeAgainstAccepted } from "../trust/freshness.ts";

const acceptedSchema = z.object({
  url: z.string(),
  lastModified: z.string(),
  sha256,
  acceptedAt: z.string(),
  /** Set when --allow-rollback accepted an older stream. */
  rollback: z.boolean().optional(),
});
type AcceptedRecord = z.infer<typeof acceptedSchema>;

/** `$XDG_STATE_HOME/bootstream`, else `~/.local/state/bootstream` (XDG Base Directory spec). */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>> = {}): string {
  const xdg = env.XDG_STATE_HOME;
  // The spec: a relative XDG_STATE_HOME is invalid and must be ignored.
  if (xdg?.startsWith("/")) return join(xdg, "bootstream");
  return join(env.HOME || homedir(), ".local", "state", "bootstream");
}

/** The log of one stream URL (or file URL) in the state directory. */
export function acceptedLog(stateDir: string, url: string): RecordLog<AcceptedRecord> {
  const id = sha256Hex(url);
  return new RecordLog(join(stateDir, "streams", id), {
    schema: acceptedSchema,
    what: `trust state of ${url}`,
  });
}

/**
 * Checks a stream against the newest accepted from `url` and records it when newer: ROLLBACK
 * for an older one or the same last-modified with other bytes, unless `allowRollback`, which
 * accepts it and records it as the newest.
 */
export async function acceptStream(
  stateDir: string,
  url: string,
  name: string,
  candidate: AcceptedStream,
  options: { allowRollback?: boolean; now?: Date } = {},
): Promise<void> {
  const record: AcceptedRecord = {
    url,
    ...candidate,
    acceptedAt: (options.now ?? new Date()).toISOString(),
  };
  await acceptedLog(stateDir, url).update((current) => {
    try {
      return judgeAgainstAccepted(name, candidate, current) === "same" ? undefined : record;
    } catch (error) {
      if (options.allowRollback) return { ...record, rollback: true };
      throw error;
    }
  });
}
