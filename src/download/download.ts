/**
 * Fetch one artifact and prove it: the body is streamed once through the sha256 of the
 * compressed bytes, the OpenPGP signature check, an optional decompressor and the sha256
 * of the uncompressed bytes, into NAME.part; only when every check passed is it renamed
 * to NAME. A mismatch removes the partial file. An interrupted plain download resumes from
 * its .part (the hash state is rebuilt from the bytes on disk); dropped connections resume
 * within the run, decompressing or not.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { syncDirectory } from "../files/atomic.ts";
import type { StreamVerifier } from "../signature/index.ts";
import { fetchCapped } from "../source/read.ts";
import { type Compression, compressionOf, createDecompressor } from "./decompress.ts";
import { httpBytes } from "./http-source.ts";
import { memoryKeeper } from "./memory.ts";

/** One file to fetch, as a stream describes it (or just a URL). */
export interface DownloadSource {
  url: string;
  signatureUrl?: string;
  sha256?: string;
  uncompressedSha256?: string;
}

export interface DownloadProgress {
  file: string;
  bytes: number;
  total: number | undefined;
}

export interface DownloadOptions {
  directory: string;
  decompress?: boolean;
  /** Keys the signature must verify against; required unless `insecure`. */
  keys?: readonly Key[];
  /** Skip signature verification (digests are still checked). */
  insecure?: boolean;
  retries?: number;
  backoffMs?: number;
  /** Only the built-in decoders, even when xz/zstd are installed (tests, odd systems). */
  builtinDecompressors?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  /** Bytes received (compressed), including any resumed prefix. */
  bytes: number;
  sha256: string;
  signatureKey?: string;
  /** The file was already there and verified. */
  skipped: boolean;
}

const SIGNATURE_MAX_BYTES = 1024 * 1024;
/** Buffering between stages: enough to keep every stage busy, small enough to keep memory flat. */
const STAGE_BUFFER = 256 * 1024;

/** The local file name for a URL: its last path segment, refusing anything path-like. */
export function fileNameOf(url: string): string {
  const name = decodeURIComponent(basename(new URL(url).pathname));
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new BootstreamError("USAGE", `cannot tell a file name from ${url}`);
  }
  return name;
}

async function hashFile(path: string, hash: Hash, verifier?: StreamVerifier): Promise<number> {
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (verifier && !verifier.input.write(chunk)) await new Promise((r) => verifier.input.once("drain", r));
  }
  return size;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A pass-through that hashes what flows by (and feeds a signature check). */
function tap(hash: Hash, onBytes: (n: number) => void, verifier?: StreamVerifier): Transform {
  return new Transform({
    highWaterMark: STAGE_BUFFER,
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      onBytes(chunk.length);
      if (verifier && !verifier.input.write(chunk)) {
        verifier.input.once("drain", () => callback(null, chunk));
        return;
      }
      callback(null, chunk);
    },
  });
}

function mismatch(what: string, url: string, expected: string, actual: string): BootstreamError {
  return new BootstreamError(
    "CHECKSUM_MISMATCH",
    `${what} of ${url} is ${actual}, the stream says ${expected}`,
    { path: url },
  );
}

export async function downloadArtifact(
  source: DownloadSource,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const remoteName = fileNameOf(source.url);
  const compression: { compression: Compression; stem: string } | undefined = options.decompress
    ? compressionOf(remoteName)
    : undefined;
  const name = compression?.stem ?? remoteName;
  const finalPath = join(options.directory, name);
  const partPath = `${finalPath}.part`;
  const verifySignature = !options.insecure;
  if (verifySignature) {
    if (!options.keys || options.keys.length === 0) {
      throw new BootstreamError(
        "USAGE",
        "no key to verify the artifact's signature: give --key FILE (or BOOTSTREAM_KEYRING), or --insecure",
      );
    }
    if (!source.signatureUrl) {
      throw new BootstreamError(
        "SIGNATURE_INVALID",
        `${source.url} has no signature in the stream; use --insecure to download it unverified`,
      );
    }
  }
  await mkdir(options.directory, { recursive: true });

  // A complete file that still verifies is not fetched again.
  const finalDigest = compression ? source.uncompressedSha256 : source.sha256;
  if (finalDigest && (await exists(finalPath))) {
    const hash = createHash("sha256");
    await hashFile(finalPath, hash);
    if (hash.digest("hex") === finalDigest) {
      return { path: finalPath, bytes: 0, sha256: finalDigest, skipped: true };
    }
  }

  const signature = verifySignature
    ? await fetchCapped(source.signatureUrl as string, SIGNATURE_MAX_BYTES, options.signal)
    : undefined;
  // openpgp.js is loaded only when a signature is checked: it is large.
  const verifier = signature
    ? await (await import("../signature/index.ts")).createStreamVerifier(signature, options.keys ?? [])
    : undefined;
  const compressedHash = createHash("sha256");
  const uncompressedHash = createHash("sha256");

  // Resume a plain download from what is on disk; a decompressed one restarts.
  let offset = 0;
  if (!compression && (await exists(partPath))) offset = await hashFile(partPath, compressedHash, verifier);
  else await rm(partPath, { force: true });

  let received = offset;
  let total: number | undefined;
  const keepMemoryFlat = memoryKeeper();
  const progress = (n: number) => {
    received += n;
    keepMemoryFlat(n);
    options.onProgress?.({ file: name, bytes: received, total });
  };
  const chunks = httpBytes(source.url, {
    offset,
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onTotal: (bytes) => {
      total = bytes;
    },
  });
  const out: Writable = createWriteStream(partPath, {
    flags: offset > 0 ? "a" : "w",
    highWaterMark: 1 << 20,
  });
  try {
    const input = Readable.from(chunks, { objectMode: false, highWaterMark: STAGE_BUFFER });
    const compressedTap = tap(compressedHash, progress, verifier);
    try {
      if (compression) {
        const decoder = await createDecompressor(compression.compression, {
          builtinOnly: options.builtinDecompressors === true,
        });
        await pipeline(
          input,
          compressedTap,
          decoder,
          tap(uncompressedHash, () => {}),
          out,
        );
      } else {
        await pipeline(input, compressedTap, out);
      }
    } catch (error) {
      if (error instanceof BootstreamError) throw error;
      // Anything a decoder throws means the bytes were not what their suffix says.
      if (compression && !(error as NodeJS.ErrnoException).syscall) {
        throw new BootstreamError(
          "CHECKSUM_MISMATCH",
          `${source.url} does not decompress as ${compression.compression}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      throw new BootstreamError("IO", `cannot download ${source.url}: ${(error as Error).message}`, {
        cause: error,
        path: source.url,
      });
    }
    verifier?.input.end();
    const sha256 = compressedHash.digest("hex");
    if (source.sha256 && sha256 !== source.sha256)
      throw mismatch("sha256", source.url, source.sha256, sha256);
    if (compression && source.uncompressedSha256) {
      const actual = uncompressedHash.digest("hex");
      if (actual !== source.uncompressedSha256)
        throw mismatch("uncompressed sha256", source.url, source.uncompressedSha256, actual);
    }
    const signatureKey = verifier ? await verifier.result : undefined;
    await rename(partPath, finalPath);
    await syncDirectory(options.directory);
    return {
      path: finalPath,
      bytes: received,
      sha256,
      skipped: false,
      ...(signatureKey ? { signatureKey } : {}),
    };
  } catch (error) {
    verifier?.input.destroy();
    // A proven-bad file goes; a merely interrupted plain download stays for resuming.
    const keep = error instanceof BootstreamError && error.code === "IO" && !compression;
    if (!keep) await rm(partPath, { force: true });
    throw error;
  }
}
