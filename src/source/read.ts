/**
 * Reads a SOURCE as the CLI contract defines it: a file path, `-` (standard input), an
 * http(s) URL, or a bare stream name resolved against a stream base URL. Every reader
 * stops at a size limit, so a huge or endless input fails fast instead of filling memory.
 */
import { open, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { BootstreamError } from "../errors.ts";
import { type Deadlines, type HttpReply, httpRequest } from "../net/http.ts";
import { isStreamName } from "../schema/names.ts";
import type { DecodedDocument } from "../schema/parse.ts";
import { printable } from "../schema/text.ts";

/** Streams are ~60 KB; anything this large is not stream metadata. */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** Signatures are a few hundred bytes; a history grows by ~300 bytes a publish. */
export const SIGNATURE_MAX_BYTES = 1024 * 1024;
export const HISTORY_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_STREAM_BASE_URL = "https://builds.coreos.fedoraproject.org/streams/";

export interface ReadSourceOptions {
  stdin?: Readable;
  /** Base URL that bare stream names resolve against (a trailing "/" is added if missing). */
  streamBaseUrl?: string;
  maxBytes?: number;
  /** Deadlines of URL reads (defaults: src/net/http.ts). */
  deadlines?: Deadlines;
  signal?: AbortSignal;
  /**
   * Checks what was read before anyone uses it (a stream's signature and freshness, see
   * source/trusted.ts); throwing refuses the source.
   */
  accept?: (read: SourceBytes) => Promise<void>;
  /**
   * A bare name (`stable`, `test`) is always a stream name, never a local file of that name
   * (`download -s NAME`). Without it a regular file of that name wins over the stream name.
   */
  bareNameIsStream?: boolean;
}

export interface SourceBytes {
  /** How to name the source in messages. */
  name: string;
  bytes: Uint8Array;
  /** For a URL: where the bytes came from after redirects, and its Content-Location header. */
  fetched?: { url: string; contentLocation: string | undefined };
  /** For a local file: its path. */
  file?: string;
  /** The bytes decoded, when a check decoded them already (parsing reuses it). */
  decoded?: DecodedDocument;
}

/**
 * What kind of SOURCE a string is. A "name" (a bare word such as `stable`) is read as a local
 * file when a regular file of that name exists, and as a stream name otherwise (a directory of
 * that name, `test/`, is no reason to refuse it); see readSource.
 */
export function classifySource(source: string): "stdin" | "url" | "name" | "file" {
  if (source === "-") return "stdin";
  if (/^https?:\/\//i.test(source)) return "url";
  if (isStreamName(source) && !source.endsWith(".json")) return "name";
  return "file";
}

export function streamUrl(name: string, baseUrl: string = DEFAULT_STREAM_BASE_URL): string {
  // URL resolution drops the last path segment of a base without a trailing "/".
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return new URL(`${encodeURIComponent(name)}.json`, base).href;
}

function tooLarge(name: string, max: number, what = "a metadata document"): BootstreamError {
  return new BootstreamError(
    "TOO_LARGE",
    `${name} is larger than ${formatBytes(max)}, the limit for ${what}`,
    { path: name },
  );
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} B`;
}

async function collect(
  chunks: AsyncIterable<Uint8Array | string>,
  name: string,
  max: number,
  what?: string,
): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size > max) throw tooLarge(name, max, what);
    parts.push(buf);
  }
  return Buffer.concat(parts, size);
}

/** Reads a local file (or FIFO, or device) into memory, refusing more than `max` bytes. */
export async function readFileCapped(path: string, max: number, what?: string): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    throw ioError(path, cause);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory())
      throw new BootstreamError("IO", `${path} is a directory, expected a file`, { path });
    if (info.isFile()) {
      if (info.size > max) throw tooLarge(path, max, what);
      const buf = Buffer.allocUnsafe(info.size);
      let offset = 0;
      while (offset < info.size) {
        const { bytesRead } = await handle.read(buf, offset, info.size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return buf.subarray(0, offset);
    }
    // FIFOs and character devices: read as a stream, still capped.
    return await collect(handle.createReadStream({ autoClose: false }), path, max, what);
  } catch (cause) {
    if (cause instanceof BootstreamError) throw cause;
    throw ioError(path, cause);
  } finally {
    await handle.close();
  }
}

function ioError(path: string, cause: unknown): BootstreamError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
        ? "permission denied"
        : code === "EISDIR"
          ? "is a directory, expected a file"
          : cause instanceof Error
            ? cause.message
            : String(cause);
  return new BootstreamError(code === "ENOENT" ? "NOT_FOUND" : "IO", `cannot read ${path}: ${reason}`, {
    path,
    cause,
  });
}

/** GET of a small document: deadlines, a size cap, and 404 as NOT_FOUND. */
export async function fetchCapped(
  url: string,
  max: number,
  signal?: AbortSignal,
  deadlines: Deadlines = {},
): Promise<Uint8Array> {
  return (await fetchDocument(url, max, signal, deadlines)).body;
}

/** fetchCapped, with the reply's final URL and headers. */
export async function fetchDocument(
  url: string,
  max: number,
  signal?: AbortSignal,
  deadlines: Deadlines = {},
): Promise<HttpReply> {
  const reply = await httpRequest(url, { maxBytes: max, ...deadlines, ...(signal ? { signal } : {}) }).catch(
    (cause: unknown) => {
      // A body over the cap is named as the metadata limit users know.
      if (cause instanceof BootstreamError && cause.code === "TOO_LARGE") throw tooLarge(url, max);
      throw cause;
    },
  );
  if (reply.status < 200 || reply.status > 299) {
    throw new BootstreamError(
      reply.status === 404 ? "NOT_FOUND" : "IO",
      // The reason phrase is the server's text: escaped, so a hostile one cannot drive the terminal.
      `cannot fetch ${url}: HTTP ${reply.status} ${printable(reply.statusText.slice(0, 200))}`.trimEnd(),
      { path: url },
    );
  }
  return reply;
}

async function fetchSource(url: string, max: number, options: ReadSourceOptions): Promise<SourceBytes> {
  const reply = await fetchDocument(url, max, options.signal, options.deadlines);
  return {
    name: url,
    bytes: reply.body,
    fetched: { url: reply.url, contentLocation: reply.headers.get("content-location") ?? undefined },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // missing or unreadable: readFileCapped says which
  }
}

/** Reads one SOURCE into memory, then lets `options.accept` refuse it. */
export async function readSource(source: string, options: ReadSourceOptions = {}): Promise<SourceBytes> {
  const read = await readSourceBytes(source, options);
  await options.accept?.(read);
  return read;
}

async function readSourceBytes(source: string, options: ReadSourceOptions): Promise<SourceBytes> {
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  switch (classifySource(source)) {
    case "stdin": {
      if (options.stdin === undefined) throw new BootstreamError("USAGE", "standard input is not available");
      return { name: "-", bytes: await collect(options.stdin, "standard input", max) };
    }
    case "url":
      return fetchSource(source, max, options);
    case "name": {
      // A file of that name wins over a stream name, so `validate stable` on a local file works;
      // a directory of that name does not (`test/` in a checkout is no stream file).
      if (!options.bareNameIsStream && !(await isDirectory(source))) {
        try {
          return { name: source, bytes: await readFileCapped(source, max), file: source };
        } catch (error) {
          if (!(error instanceof BootstreamError && error.code === "NOT_FOUND")) throw error;
        }
      }
      return fetchSource(streamUrl(source, options.streamBaseUrl), max, options);
    }
    default:
      return { name: source, bytes: await readFileCapped(source, max), file: source };
  }
}
