/**
 * A stream plus chosen artifacts copied for a disconnected site: files laid out under DIR
 * by their origin URL path, the stream rewritten so every artifact location and signature
 * points at --base-url, each artifact's sha256 verified, N transfers in parallel. A rerun
 * resumes partial files and skips complete ones it already verified.
 *
 * Every path comes from the stream, which may be hostile: URL path segments and the stream
 * name are confined to DIR, and the whole layout is checked before anything is fetched, so
 * two artifacts can never share a file (or a file and a directory), nor take one of the
 * mirror's own files (streams/, the state file, a .part).
 *
 * Beside the rewritten `streams/<name>.json` the mirror keeps the upstream copy it was made
 * from, byte for byte, with the upstream signature: `streams/<name>.upstream.json` and
 * `streams/<name>.upstream.json.asc`. A client holding only the upstream key verifies that
 * copy and accepts the rewritten stream when it differs from it in nothing but re-based
 * artifact URLs (trust/mirror-rewrite.ts). An operator may instead re-sign the rewritten
 * stream (`streams/<name>.json.asc`).
 */
import { lstat, mkdir, realpath, rm } from "node:fs/promises";
import { basename, dirname, relative, sep } from "node:path";
import { z } from "zod";
import type { Lexemes } from "../canonical/parse.ts";
import { type DownloadProgress, downloadArtifact } from "../download/download.ts";
import { prepareDirectory, readOwnFile } from "../download/files.ts";
import { fetchSignature } from "../download/signature.ts";
import { urlPathSegments } from "../download/url-path.ts";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { resolveInside } from "../files/confine.ts";
import type { Deadlines } from "../net/http.ts";
import { type ArtifactRef, listArtifacts } from "../query/index.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import { canonicalize, parseStream } from "../schema/parse.ts";
import type { Stream, StreamArtifact } from "../schema/stream.ts";
import type { Signer } from "../signature/index.ts";
import { isUpstreamCopyName, mirrorRewriteIssues, upstreamCopyNames } from "../trust/mirror-rewrite.ts";

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
  /** Connect and idle deadlines of every request. */
  deadlines?: Deadlines;
  /** Indent of the written stream; default the stream's usual 4. */
  indent?: number;
  /**
   * Number text of the stream by JSON pointer, from the ParsedDocument it came from, so the
   * rewritten stream keeps every number as upstream wrote it.
   */
  lexemes?: Lexemes;
  /**
   * The exact bytes the stream was parsed from, and their detached signature when known:
   * kept as streams/<name>.upstream.json (+ .asc) so clients can check the rewrite against
   * the signed original. Without it no upstream copy is kept (and a stale one is removed).
   */
  upstream?: {
    bytes: Uint8Array;
    signature?: Uint8Array;
    /** The upstream bytes parsed, when the caller parsed them already (they are the stream). */
    stream?: Stream;
  };
  /** Re-signs the rewritten stream: streams/<name>.json.asc over its exact bytes. */
  signer?: Signer;
  onFile?: (event: { path: string; status: "downloaded" | "verified" | "skipped"; bytes: number }) => void;
  /** Bytes received per file (keyed by its path under DIR), for a progress display. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Something was ignored on the way (a corrupt state file). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface MirrorResult {
  streamPath: string;
  /** The upstream copy and its signature, when they were kept. */
  upstreamPath?: string;
  upstreamSignaturePath?: string;
  /** The operator's signature of the rewritten stream, with a signer. */
  signaturePath?: string;
  files: { path: string; status: "downloaded" | "verified" | "skipped"; bytes: number }[];
}

/** Remembers which files were verified, so reruns skip them without hashing gigabytes. */
const STATE_FILE = ".bootstream-mirror.json";
const STATE_MAX_BYTES = 16 * 1024 * 1024;
/** The mirror's own top-level directory for streams. */
const STREAMS_DIR = "streams";
/** A stream document is ~60 KB; an old copy larger than this is not compared, just replaced. */
const OLD_COPY_MAX_BYTES = 32 * 1024 * 1024;

/** One verified file in the mirror's state (.bootstream-mirror.json): path -> what it was. */
const knownSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  mtimeMs: z.number().finite(),
});
const stateSchema = z.record(z.string(), knownSchema);
type Known = z.infer<typeof knownSchema>;

/** The URL's path segments under DIR, with no way out of DIR. */
function segmentsOf(directory: string, url: string, pointer: string): { segments: string[]; path: string } {
  const segments = urlPathSegments(url, { pointer });
  return { segments, path: resolveInside(directory, segments, { what: url, pointer }) };
}

function rewriteUrl(baseUrl: string, url: string, pointer: string): string {
  const rel = urlPathSegments(url, { pointer }).map(encodeURIComponent).join("/");
  return new URL(rel, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).href;
}

/** One selected artifact and where its files go. */
interface Entry {
  ref: ArtifactRef;
  path: string;
  key: string;
  signature?: { url: string; path: string };
}

interface Claim {
  pointer: string;
  url: string;
  /** What must be equal for two claims to be the same file. */
  identity: string;
}

/** Case and Unicode form folded: two names one filesystem could take for the same file. */
function fold(segments: readonly string[]): string {
  return segments.join("/").normalize("NFC").toLowerCase();
}

function collision(a: Claim, b: Claim, key: string, how: string): BootstreamError {
  return new BootstreamError(
    "INVALID_DOCUMENT",
    `${a.pointer} (${a.url}) and ${b.pointer} (${b.url}) ${how} ${key} in the mirror`,
    { path: b.pointer },
  );
}

/**
 * Where every selected file goes, refusing any two that would share a path, a file that
 * would be another's directory or .part, and the mirror's own files.
 */
function layout(directory: string, refs: readonly ArtifactRef[]): Entry[] {
  const claims = new Map<string, Claim>();
  const claim = (segments: string[], c: Claim) => {
    const key = fold(segments);
    if (segments[0]?.toLowerCase() === STREAMS_DIR || key === STATE_FILE)
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${c.pointer} (${c.url}) maps to ${segments.join("/")}, which the mirror keeps for its own files`,
        { path: c.pointer },
      );
    const other = claims.get(key);
    if (other !== undefined && other.identity !== c.identity)
      throw collision(other, c, segments.join("/"), "both map to");
    claims.set(key, c);
  };
  const entries: Entry[] = [];
  for (const ref of refs) {
    const pointer = `${ref.pointer}/location`;
    const { segments, path } = segmentsOf(directory, ref.artifact.location, pointer);
    claim(segments, {
      pointer,
      url: ref.artifact.location,
      identity: `artifact ${ref.artifact.location} ${ref.artifact.sha256}`,
    });
    const entry: Entry = { ref, path, key: segments.join("/") };
    if (ref.artifact.signature) {
      const sigPointer = `${ref.pointer}/signature`;
      const sig = segmentsOf(directory, ref.artifact.signature, sigPointer);
      claim(sig.segments, {
        pointer: sigPointer,
        url: ref.artifact.signature,
        identity: `signature ${ref.artifact.signature}`,
      });
      entry.signature = { url: ref.artifact.signature, path: sig.path };
    }
    entries.push(entry);
  }
  // A file may not be another's .part, nor stand where another needs a directory.
  for (const [key, c] of claims) {
    const part = claims.get(`${key}.part`);
    if (part !== undefined)
      throw collision(c, part, `${key}.part`, "collide: the second is the partial file of the first at");
    const parts = key.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = claims.get(parts.slice(0, i).join("/"));
      if (parent !== undefined)
        throw collision(
          parent,
          c,
          parts.slice(0, i).join("/"),
          "collide: the first is a file, the second needs a directory at",
        );
    }
  }
  return entries;
}

/** The verified-files state, or an empty one (with a warning) when it cannot be trusted. */
async function readState(path: string, warn: (message: string) => void): Promise<Map<string, Known>> {
  const state = new Map<string, Known>();
  const entry = await lstat(path).catch(() => undefined);
  if (entry === undefined) return state;
  const ignore = (why: string) => {
    warn(`ignoring ${path}: ${why}; every file is verified again`);
    return state;
  };
  const bytes = await readOwnFile(path, STATE_MAX_BYTES);
  if (bytes === undefined) return ignore("not a regular file of its own (a link?), or too large");
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return ignore("not JSON");
  }
  const parsed = stateSchema.safeParse(data);
  if (!parsed.success) {
    const key = parsed.error.issues[0]?.path[0];
    return ignore(
      typeof key === "string" ? `its entry ${JSON.stringify(key)} is malformed` : "not a JSON object",
    );
  }
  for (const [key, known] of Object.entries(parsed.data)) state.set(key, known);
  return state;
}

/** mkdir -p of `dir`, then proof that it is still under `root` (no planted directory symlink). */
async function confinedDirectory(root: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const [realRoot, realDir] = await Promise.all([realpath(root), realpath(dir)]);
  const rel = relative(realRoot, realDir);
  if (rel.startsWith(`..${sep}`) || rel === ".." || rel.startsWith(sep))
    throw new BootstreamError(
      "IO",
      `refusing to write into ${dir}: it leads out of ${root} (a symbolic link?)`,
      {
        path: dir,
      },
    );
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

/** The stream as the mirror serves it: the selected artifacts re-based onto `baseUrl`, the rest left out. */
function rewrite(stream: Stream, refs: readonly ArtifactRef[], baseUrl: string): Stream {
  // A copy of the data only: number text travels beside it by pointer (options.lexemes).
  const mirrored = structuredClone(stream);
  const keep = new Set(refs.map((r) => r.pointer));
  for (const ref of listArtifacts(mirrored)) {
    if (!keep.has(ref.pointer)) continue;
    const artifact = ref.artifact as StreamArtifact;
    artifact.location = rewriteUrl(baseUrl, artifact.location, `${ref.pointer}/location`);
    if (artifact.signature)
      artifact.signature = rewriteUrl(baseUrl, artifact.signature, `${ref.pointer}/signature`);
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
  return mirrored;
}

/**
 * The upstream bytes must be the stream being mirrored: what the mirror writes has to pass
 * the same check a client makes (trust/mirror-rewrite.ts), or the upstream copy kept beside
 * it would vouch for nothing.
 */
function checkUpstreamCopy(copy: NonNullable<MirrorOptions["upstream"]>, mirrored: Stream): void {
  const upstream = copy.stream ?? parseStream(copy.bytes);
  const issues = mirrorRewriteIssues(upstream, mirrored);
  if (issues.length > 0)
    throw new BootstreamError(
      "USAGE",
      `the upstream bytes given to mirror are not the stream being mirrored: ${issues
        .slice(0, 3)
        .map((i) => `${i.pointer}: ${i.message}`)
        .join("; ")}`,
      { issues },
    );
}

/** Removes `path` if it is there (a link is removed, never followed). */
async function removeOwn(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (cause) {
    throw new BootstreamError("IO", `cannot remove ${path}: ${(cause as Error).message}`, { path, cause });
  }
}

/**
 * Writes `bytes` to `path`, then their signature to `ascPath` when there is one. Without one,
 * an old `.asc` stays only while the bytes it signs stay the same; it is removed before the
 * bytes change, so no signature stands beside bytes it does not sign. Between the two
 * renames a reader can meet new bytes with the old signature: that pair fails to verify.
 */
async function writeSigned(
  path: string,
  bytes: Uint8Array,
  ascPath: string,
  signature: Uint8Array | string | undefined,
): Promise<void> {
  if (signature === undefined) {
    const old = await readOwnFile(path, OLD_COPY_MAX_BYTES);
    if (old === undefined || !Buffer.from(old).equals(bytes)) await removeOwn(ascPath);
  }
  await writeFileAtomic(path, bytes, { mode: 0o644 });
  if (signature !== undefined) await writeFileAtomic(ascPath, signature, { mode: 0o644 });
}

export async function mirrorStream(stream: Stream, options: MirrorOptions): Promise<MirrorResult> {
  const directory = options.directory;
  // Everything that depends on the document is checked before anything is written.
  if (!isStreamName(stream.stream))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `/stream: ${JSON.stringify(stream.stream)} cannot name the mirrored stream's file: expected ${STREAM_NAME_EXPECTATION}`,
      { path: "/stream" },
    );
  if (isUpstreamCopyName(stream.stream))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `/stream: ${JSON.stringify(stream.stream)} cannot name the mirrored stream's file: streams/${stream.stream}.json is where a mirror keeps the upstream copy of another stream`,
      { path: "/stream" },
    );
  const own = (file: string) =>
    resolveInside(directory, [STREAMS_DIR, file], { what: "stream name", pointer: "/stream" });
  const streamPath = own(`${stream.stream}.json`);
  const signaturePath = own(`${stream.stream}.json.asc`);
  const [upstreamName, previousName] = upstreamCopyNames(stream.stream) as [string, string];
  const upstreamPath = own(upstreamName);
  const upstreamSignaturePath = own(`${upstreamName}.asc`);
  const previousPath = own(previousName);
  const previousSignaturePath = own(`${previousName}.asc`);
  const refs = listArtifacts(stream).filter((ref) => selected(ref, options));
  if (refs.length === 0)
    throw new BootstreamError("NOT_FOUND", "no artifact of the stream matches the selection");
  const entries = layout(directory, refs);
  const mirrored = rewrite(stream, refs, options.baseUrl);
  const text = new TextEncoder().encode(
    canonicalize(
      { kind: "stream", data: mirrored, ...(options.lexemes ? { lexemes: options.lexemes } : {}) },
      { indent: options.indent ?? 4 },
    ),
  );
  if (options.upstream) checkUpstreamCopy(options.upstream, mirrored);
  // Signed before hours of transfers, so a key that cannot sign fails first.
  const signature = options.signer ? await options.signer.sign(text) : undefined;
  await prepareDirectory(directory);

  const statePath = resolveInside(directory, [STATE_FILE]);
  const files: MirrorResult["files"] = [];

  if (!options.metadataOnly) {
    const state = await readState(statePath, options.onWarning ?? (() => {}));
    // One transfer per file, even when two selected artifacts are the same file.
    const unique = [...new Map(entries.map((e) => [e.path, e])).values()];
    await inParallel(unique, options.jobs ?? 4, async ({ ref, path, key, signature }) => {
      const info = await lstat(path).catch(() => undefined);
      const known = state.get(key);
      if (
        info?.isFile() &&
        info.nlink === 1 &&
        known &&
        known.sha256 === ref.artifact.sha256 &&
        known.size === info.size &&
        known.mtimeMs === info.mtimeMs
      ) {
        files.push({ path, status: "skipped", bytes: 0 });
        options.onFile?.({ path, status: "skipped", bytes: 0 });
      } else {
        await confinedDirectory(directory, dirname(path));
        const result = await downloadArtifact(
          { url: ref.artifact.location, sha256: ref.artifact.sha256, pointer: `${ref.pointer}/location` },
          {
            directory: dirname(path),
            fileName: basename(path),
            insecure: true, // digests are checked here; signatures are copied for the site's own checks
            ...(options.retries !== undefined ? { retries: options.retries } : {}),
            ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
            ...(options.deadlines ? { deadlines: options.deadlines } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onProgress
              ? { onProgress: (p: DownloadProgress) => options.onProgress?.({ ...p, file: key }) }
              : {}),
          },
        );
        const after = await lstat(path);
        state.set(key, { sha256: ref.artifact.sha256, size: after.size, mtimeMs: after.mtimeMs });
        const status = result.skipped ? "verified" : "downloaded";
        files.push({ path, status, bytes: result.bytes });
        options.onFile?.({ path, status, bytes: result.bytes });
      }
      if (signature) {
        const existing = await lstat(signature.path).catch(() => undefined);
        // Only our own regular file counts as there; a link is replaced, never followed.
        if (!(existing?.isFile() && existing.nlink === 1 && existing.size > 0)) {
          await confinedDirectory(directory, dirname(signature.path));
          const body = await fetchSignature(signature.url, {
            pointer: `${ref.pointer}/signature`,
            ...(options.deadlines ? { deadlines: options.deadlines } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
          await writeFileAtomic(signature.path, body, { mode: 0o644 });
        }
      }
    });
    await writeFileAtomic(statePath, `${JSON.stringify(Object.fromEntries(state), null, 2)}\n`, {
      mode: 0o644,
    });
  }

  // The upstream copy first, then the stream rewritten from it: a reader never meets a
  // rewritten stream whose upstream copy is missing or older. The copy being replaced moves to
  // <name>.upstream-previous.json first, so a reader of the older rewrite between the renames
  // still finds its original there.
  await confinedDirectory(directory, dirname(streamPath));
  const result: MirrorResult = { streamPath, files };
  if (options.upstream) {
    const old = await readOwnFile(upstreamPath, OLD_COPY_MAX_BYTES);
    if (old !== undefined && !Buffer.from(old).equals(options.upstream.bytes)) {
      const oldSignature = await readOwnFile(upstreamSignaturePath, OLD_COPY_MAX_BYTES);
      await writeSigned(previousPath, old, previousSignaturePath, oldSignature);
    }
    await writeSigned(
      upstreamPath,
      options.upstream.bytes,
      upstreamSignaturePath,
      options.upstream.signature,
    );
    result.upstreamPath = upstreamPath;
    if (options.upstream.signature) result.upstreamSignaturePath = upstreamSignaturePath;
  } else {
    for (const path of [upstreamSignaturePath, upstreamPath, previousSignaturePath, previousPath])
      await removeOwn(path);
  }
  await writeSigned(streamPath, text, signaturePath, signature);
  if (signature !== undefined) result.signaturePath = signaturePath;
  return result;
}
