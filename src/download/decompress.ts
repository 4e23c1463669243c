/**
 * Decompressors for downloaded artifacts, chosen by file suffix only (never by guess: a
 * PXE initramfs with appended cpio archives must stay as it is, and GCP wants its .tar.gz
 * whole). xz and zstd use the system tools when installed (xz decompresses multi-threaded
 * with -T0), otherwise pure WASM/JS decoders; gzip uses node:zlib.
 */
import { spawn, spawnSync } from "node:child_process";
import { Duplex } from "node:stream";
import { TransformStream } from "node:stream/web";
import { createGunzip } from "node:zlib";
import { BootstreamError } from "../errors.ts";
import { zstdDecoder } from "./zstd.ts";

export type Compression = "xz" | "gzip" | "zstd";

/** The compression a file name announces, and its name without that suffix. */
export function compressionOf(fileName: string): { compression: Compression; stem: string } | undefined {
  // Tarballs stay whole (GCP imports the .tar.gz itself).
  if (/\.tar\.(xz|gz|zst)$/.test(fileName)) return undefined;
  const m = /^(.*)\.(xz|gz|zst)$/.exec(fileName);
  if (!m) return undefined;
  const compression = m[2] === "xz" ? "xz" : m[2] === "gz" ? "gzip" : "zstd";
  return { compression, stem: m[1] as string };
}

const available = new Map<string, boolean>();

function hasTool(name: string): boolean {
  let found = available.get(name);
  if (found === undefined) {
    found = spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0;
    available.set(name, found);
  }
  return found;
}

export interface DecompressOptions {
  /** Use only the built-in decoders, even when xz/zstd are installed. */
  builtinOnly?: boolean;
}

/**
 * A stream that runs a system decompressor. Its output ends only once the tool has exited
 * 0 having read all its input and said nothing on stderr; anything else (a truncated
 * stream, corrupt data, trailing garbage) fails the stream, so a download never ends
 * "successfully" with the part the tool wrote before it gave up.
 */
function toolStream(command: string, args: string[], what: string): Duplex {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let unread = false;
  let waiting: (() => void) | undefined;
  child.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 2000) stderr += c.toString();
  });
  // EPIPE: the tool stopped reading (it failed, or ignores trailing data); judged at exit.
  child.stdin.on("error", () => {
    unread = true;
    const w = waiting;
    waiting = undefined;
    w?.();
  });
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      if (unread || child.stdin.write(chunk)) {
        callback();
        return;
      }
      waiting = callback;
      child.stdin.once("drain", () => {
        const w = waiting;
        waiting = undefined;
        w?.();
      });
    },
    final(callback) {
      child.stdin.end();
      callback();
    },
    read() {
      child.stdout.resume();
    },
    destroy(error, callback) {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      callback(error);
    },
  });
  child.stdout.on("data", (c: Buffer) => {
    if (!duplex.push(c)) child.stdout.pause();
  });
  child.on("error", (error) => duplex.destroy(error));
  child.on("close", (code, signal) => {
    if (duplex.destroyed) return;
    const message = stderr.trim().split("\n")[0] ?? "";
    if (code === 0 && !unread && message === "") {
      duplex.push(null);
      return;
    }
    const why =
      code !== 0
        ? `${command} exited ${code ?? signal}${message ? `: ${message}` : ""}`
        : unread
          ? `${command} stopped before the end of its input`
          : `${command}: ${message}`;
    duplex.destroy(new BootstreamError("CHECKSUM_MISMATCH", `${what} data is corrupt (${why})`));
  });
  return duplex;
}

async function xzWasm(): Promise<Duplex> {
  const xzModule = await import("xz-decompress");
  // The package is a CommonJS bundle: under ESM its exports arrive on `default`.
  const XzReadableStream: typeof xzModule.XzReadableStream =
    (xzModule as unknown as { default?: typeof xzModule }).default?.XzReadableStream ??
    xzModule.XzReadableStream;
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  return Duplex.fromWeb({ writable: pipe.writable, readable: new XzReadableStream(pipe.readable) });
}

/** The decoders are loaded only when used (the WASM one is sizeable). */
export async function createDecompressor(
  compression: Compression,
  options: DecompressOptions = {},
): Promise<Duplex> {
  switch (compression) {
    case "gzip":
      return createGunzip();
    case "xz":
      return !options.builtinOnly && hasTool("xz") ? toolStream("xz", ["-dc", "-T0", "-q"], "xz") : xzWasm();
    case "zstd":
      return !options.builtinOnly && hasTool("zstd")
        ? toolStream("zstd", ["-dc", "-q"], "zstd")
        : zstdDecoder();
  }
}
