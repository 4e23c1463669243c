/**
 * streams/<name>/history.json: every pinned copy of a stream, newest first, with what a
 * client needs to choose one (date, digest, size, releases per architecture).
 */
import { z } from "zod";
import { layoutOf } from "../canonical/layout.ts";
import { writeCanonical } from "../canonical/write.ts";
import { BootstreamError } from "../errors.ts";
import { rfc3339, sha256 } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import { decodeDocument } from "../schema/parse.ts";
import type { Store } from "../storage/store.ts";
import { updateWithRetry } from "../storage/update.ts";
import { historyKey } from "./layout.ts";

export const historyEntrySchema = z.looseObject({
  id: z.string().regex(/^\d{8}(-\d{1,3})?$/, "expected a pinned id YYYYMMDD or YYYYMMDD-N"),
  "last-modified": rfc3339,
  sha256: sha256,
  size: z.number().int().nonnegative(),
  releases: z.record(z.string(), z.string()),
  published: rfc3339,
});

export const historySchema = z.looseObject({
  stream: z.string().refine(isStreamName, STREAM_NAME_EXPECTATION),
  entries: z.array(historyEntrySchema),
});

export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export type History = z.infer<typeof historySchema>;

const LAYOUT = layoutOf(historySchema);

/**
 * A history read back from a store. Publishing wrote it, so a history that does not parse is
 * damage in the store (IO), never a problem of the stream being published.
 */
export function parseHistory(bytes: Uint8Array, where: string): History {
  const corrupt = (what: string, cause?: unknown) =>
    new BootstreamError(
      "IO",
      `${where} is corrupt (${what}); restore it from a backup, or fix it by hand (fsck lists what it should hold)`,
      cause === undefined ? {} : { cause },
    );
  let value: unknown;
  try {
    value = decodeDocument(bytes).value;
  } catch (error) {
    const issue = error instanceof BootstreamError ? error.issues[0] : undefined;
    const at = issue?.line === undefined ? "" : ` at line ${issue.line}`;
    throw corrupt(`not JSON${at}: ${issue?.message ?? (error as Error).message}`, error);
  }
  const result = historySchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const pointer = (issue?.path ?? []).map((p) => `/${String(p)}`).join("");
    throw corrupt(`${pointer || "/"}: ${issue?.message ?? "not a history"}`);
  }
  return value as History;
}

export function serializeHistory(history: History): Uint8Array {
  return new TextEncoder().encode(writeCanonical(history, LAYOUT, { indent: 2 }));
}

const emptyHistory = (name: string): History => ({ stream: name, entries: [] });

/** The history of stream `name` in `store` (empty when there is none yet) and its version tag. */
export async function readHistory(
  store: Store,
  name: string,
): Promise<{ history: History; etag: string | null }> {
  const object = await store.get(historyKey(name));
  if (object === undefined) return { history: emptyHistory(name), etag: null };
  // parseHistory names damage as such (IO), never as a problem of the stream being published.
  return { history: parseHistory(object.body, `${store.location} ${historyKey(name)}`), etag: object.etag };
}

/**
 * Applies `change` to the history of `name` by compare-and-swap (updateWithRetry): a concurrent
 * writer's change stays and `change` is applied again on top of it. `change` returns undefined
 * when there is nothing to do. True when this call wrote.
 */
export function updateHistory(
  store: Store,
  name: string,
  change: (history: History) => History | undefined,
): Promise<boolean> {
  const key = historyKey(name);
  return updateWithRetry(store, key, (object) => {
    const history =
      object === undefined ? emptyHistory(name) : parseHistory(object.body, `${store.location} ${key}`);
    const next = change(history);
    return next === undefined ? undefined : serializeHistory(next);
  });
}
