/**
 * streams/<name>/history.json: every pinned copy of a stream, newest first, with what a
 * client needs to choose one (date, digest, size, releases per architecture).
 */
import { z } from "zod";
import { layoutOf } from "../canonical/layout.ts";
import { writeCanonical } from "../canonical/write.ts";
import { BootstreamError } from "../errors.ts";
import { compareVersions } from "../generate/platforms.ts";
import { rfc3339, sha256 } from "../schema/common.ts";
import { decodeDocument } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";

export const historyEntrySchema = z.looseObject({
  id: z.string(),
  "last-modified": rfc3339,
  sha256: sha256,
  size: z.number().int().nonnegative(),
  releases: z.record(z.string(), z.string()),
  published: rfc3339,
});

export const historySchema = z.looseObject({
  stream: z.string(),
  entries: z.array(historyEntrySchema),
});

export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export type History = z.infer<typeof historySchema>;

const LAYOUT = layoutOf(historySchema);

/** Newest release per architecture (arches may mix releases across platforms). */
export function releasesOf(stream: Stream): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [arch, entry] of Object.entries(stream.architectures)) {
    const releases = Object.values(entry.artifacts)
      .map((p) => p.release)
      .sort(compareVersions);
    const newest = releases.at(-1);
    if (newest !== undefined) out[arch] = newest;
  }
  return out;
}

export function parseHistory(bytes: Uint8Array, where: string): History {
  const { value } = decodeDocument(bytes);
  const result = historySchema.safeParse(value);
  if (!result.success)
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${where} is not a valid history: ${result.error.issues[0]?.message}`,
    );
  return value as History;
}

export function serializeHistory(history: History): Uint8Array {
  return new TextEncoder().encode(writeCanonical(history, LAYOUT, { indent: 2 }));
}
