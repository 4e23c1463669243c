/**
 * A stream plus chosen artifacts copied for a disconnected site: files laid out under DIR
 * by their origin URL path, the stream rewritten so every artifact location and signature
 * points at --base-url, each artifact's sha256 verified, N transfers in parallel. A rerun
 * resumes partial files and skips complete ones it already verified.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { type DownloadProgress, downloadArtifact } from "../download/download.ts";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { type ArtifactRef, listArtifacts } from "../query/index.ts";
import { toCanonicalJSON } from "../schema/parse.ts";
import type { Stream, StreamArtifact } from "../schema/stream.ts";
import { fetchCapped } from "../source/read.ts";

export interface MirrorSelection {
  architectures?: readonly string[];
  platforms?: readonly string[];
  formats?: readonly string[];
}

export interface MirrorOptions extends MirrorSelection {
  directory: string;
  /** Where DIR will be served from, e.g. https://mirror.internal/coreos/ */
  baseUrl: string;
  metadataOnly?: boolean;
  /** Transfers in flight at once. Default 4. */
  jobs?: number;
  retries?: number;
  backoffMs?: number;
  /** Indent of the written stream; default the stream's usual 4. */
  indent?: number;
  onFile?: (event: { path: string; status: "downloaded" | "verified" | "skipped"; bytes: number }) => void;
  /** Bytes received per file (keyed by its path under DIR), for a progress display. */
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface MirrorResult {
  streamPath: string;
  files: { path: string; status: "downloaded" | "verified" | "skipped"; bytes: number }[];
}

/** Remembers which files were verified, so reruns skip them without hashing gigabytes. */
const STATE_FILE = ".bootstream-mirror.json";
type MirrorState = Record<string, { sha256: string; size: number; mtimeMs: number }>;

/** The path under DIR for a URL: its path, with no way out of DIR. */
export function localPathFor(directory: string, url: string): string {
  const { pathname } = new URL(url);
  const segments = pathname
    .split("/")
    .filter((s) => s !== "")
    .map((s) => decodeURIComponent(s));
  if (segments.length === 0 || segments.some((s) => s === "." || s === ".." || /[/\\\0]/.test(s))) {
    throw new BootstreamError("USAGE", `cannot mirror ${url}: unusable path`);
  }
  return join(directory, ...segments);
}

function rewriteUrl(directory: string, baseUrl: string, url: string): string {
  const rel = relative(directory, localPathFor(directory, url)).split(sep).map(encodeURIComponent).join("/");
  return new URL(rel, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).href;
}

function selected(ref: ArtifactRef, s: MirrorSelection): boolean {
  const pick = (list: readonly string[] | undefined, value: string) =>
    list === undefined || list.length === 0 || list.includes(value);
  return (
    pick(s.architectures, ref.architecture) && pick(s.platforms, ref.platform) && pick(s.formats, ref.format)
  );
}

/** Runs `tasks` with at most `limit` in flight; the first failure stops new starts and is thrown. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

export async function mirrorStream(stream: Stream, options: MirrorOptions): Promise<MirrorResult> {
  const directory = options.directory;
  await mkdir(directory, { recursive: true });
  const refs = listArtifacts(stream).filter((ref) => selected(ref, options));
  if (refs.length === 0)
    throw new BootstreamError("NOT_FOUND", "no artifact of the stream matches the selection");

  const statePath = join(directory, STATE_FILE);
  const state: MirrorState = await readFile(statePath, "utf8").then(
    (t) => JSON.parse(t) as MirrorState,
    () => ({}),
  );
  const files: MirrorResult["files"] = [];

  if (!options.metadataOnly) {
    await inParallel(refs, options.jobs ?? 4, async (ref) => {
      const path = localPathFor(directory, ref.artifact.location);
      const key = relative(directory, path);
      const info = await stat(path).catch(() => undefined);
      const known = state[key];
      if (
        info &&
        known &&
        known.sha256 === ref.artifact.sha256 &&
        known.size === info.size &&
        known.mtimeMs === info.mtimeMs
      ) {
        files.push({ path, status: "skipped", bytes: 0 });
        options.onFile?.({ path, status: "skipped", bytes: 0 });
      } else {
        await mkdir(dirname(path), { recursive: true });
        const result = await downloadArtifact(
          { url: ref.artifact.location, sha256: ref.artifact.sha256 },
          {
            directory: dirname(path),
            insecure: true, // digests are checked here; signatures are copied for the site's own checks
            ...(options.retries !== undefined ? { retries: options.retries } : {}),
            ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onProgress
              ? { onProgress: (p: DownloadProgress) => options.onProgress?.({ ...p, file: key }) }
              : {}),
          },
        );
        const after = await stat(path);
        state[key] = { sha256: ref.artifact.sha256, size: after.size, mtimeMs: after.mtimeMs };
        const status = result.skipped ? "verified" : "downloaded";
        files.push({ path, status, bytes: result.bytes });
        options.onFile?.({ path, status, bytes: result.bytes });
      }
      if (ref.artifact.signature) {
        const sigPath = localPathFor(directory, ref.artifact.signature);
        if (!(await stat(sigPath).catch(() => undefined))) {
          await writeFileAtomic(
            sigPath,
            await fetchCapped(ref.artifact.signature, 1024 * 1024, options.signal),
          );
        }
      }
    });
    await writeFileAtomic(statePath, `${JSON.stringify(state, null, 2)}\n`);
  }

  // The mirrored stream: the same document, every selected artifact pointing at the mirror.
  const mirrored = structuredClone(stream);
  const keep = new Set(refs.map((r) => r.pointer));
  for (const ref of listArtifacts(mirrored)) {
    if (!keep.has(ref.pointer)) continue;
    const artifact = ref.artifact as StreamArtifact;
    artifact.location = rewriteUrl(directory, options.baseUrl, artifact.location);
    if (artifact.signature) artifact.signature = rewriteUrl(directory, options.baseUrl, artifact.signature);
  }
  // Artifacts not selected are dropped, so the mirror never points a client outside.
  for (const ref of listArtifacts(stream)) {
    if (keep.has(ref.pointer)) continue;
    const arch = mirrored.architectures[ref.architecture];
    const platform = arch?.artifacts[ref.platform];
    const format = platform?.formats[ref.format];
    if (format) delete format[ref.kind];
    if (format && Object.keys(format).length === 0) delete platform?.formats[ref.format];
    if (platform && Object.keys(platform.formats).length === 0) delete arch?.artifacts[ref.platform];
  }
  for (const [name, arch] of Object.entries(mirrored.architectures)) {
    if (Object.keys(arch.artifacts).length === 0) delete mirrored.architectures[name];
  }
  const streamPath = join(directory, "streams", `${stream.stream}.json`);
  await mkdir(dirname(streamPath), { recursive: true });
  await writeFileAtomic(
    streamPath,
    toCanonicalJSON(mirrored, { kind: "stream", indent: options.indent ?? 4 }),
  );
  return { streamPath, files };
}
