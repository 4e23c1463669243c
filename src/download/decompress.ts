/**
 * Decompressors for downloaded artifacts, chosen by file suffix only (never by guess: a
 * PXE initramfs with appended cpio archives must stay as it is, and GCP wants its .tar.gz
 * whole). xz and zstd use the system tools when installed (xz decompresses multi-threaded
 * with -T0), otherwise pure WASM/JS decoders; gzip uses node:zlib.
 */
import { spawn, spawnSync } from "node:child_process";
import { Duplex, Transform } from "node:stream";
import { TransformStream } from "node:stream/web";
import { createGunzip } from "node:zlib";
import { BootstreamError } from "../errors.ts";

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

/** A stream that runs a system decompressor; a failure of the tool fails the stream. */
function toolStream(command: string, args: string[], what: string): Duplex {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 2000) stderr += c.toString();
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on("close", (code, signal) => {
    if (code !== 0 && !duplex.destroyed) {
      duplex.destroy(
        new BootstreamError(
          "CHECKSUM_MISMATCH",
          `${what} data is corrupt (${command} exited ${code ?? signal}: ${stderr.trim().split("\n")[0] ?? ""})`,
        ),
      );
    }
  });
  duplex.on("close", () => {
    if (child.exitCode === null) child.kill();
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

async function zstdJs(): Promise<Transform> {
  const { Decompress: ZstdDecompress } = await import("fzstd");
  let push: ((chunk: Uint8Array) => void) | undefined;
  const decoder = new ZstdDecompress((chunk) => push?.(chunk));
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      push = (c) => this.push(Buffer.from(c));
      try {
        decoder.push(chunk);
        callback();
      } catch (error) {
        callback(
          new BootstreamError("CHECKSUM_MISMATCH", `zstd data is corrupt: ${(error as Error).message}`),
        );
      }
    },
    flush(callback) {
      push = (c) => this.push(Buffer.from(c));
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (error) {
        callback(
          new BootstreamError("CHECKSUM_MISMATCH", `zstd data is corrupt: ${(error as Error).message}`),
        );
      }
    },
  });
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
      return !options.builtinOnly && hasTool("zstd") ? toolStream("zstd", ["-dc", "-q"], "zstd") : zstdJs();
  }
}
