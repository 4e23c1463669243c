/**
 * The releases a stream carries per architecture. Each platform of an architecture names its
 * own release, so an architecture may mix releases (a platform held back, say).
 */
import type { Stream } from "../schema/stream.ts";
import { compareVersions } from "./versions.ts";

/** The distinct releases of one architecture, oldest first; none for an architecture the stream lacks. */
export function architectureReleases(stream: Stream, architecture: string): string[] {
  const entry = Object.hasOwn(stream.architectures, architecture)
    ? stream.architectures[architecture]
    : undefined;
  if (entry === undefined) return [];
  return [...new Set(Object.values(entry.artifacts).map((p) => p.release))].sort(compareVersions);
}

/** Every architecture's distinct releases, oldest first, in the stream's order of architectures. */
export function releasesByArchitecture(stream: Stream): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const architecture of Object.keys(stream.architectures)) {
    out[architecture] = architectureReleases(stream, architecture);
  }
  return out;
}

/** The newest release per architecture (an architecture with no artifacts has none). */
export function newestReleases(stream: Stream): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [architecture, releases] of Object.entries(releasesByArchitecture(stream))) {
    const newest = releases.at(-1);
    if (newest !== undefined) out[architecture] = newest;
  }
  return out;
}
