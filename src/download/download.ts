/**
 * Fetch one artifact and prove it: the body is streamed once through the sha256 of the
 * compressed bytes, the OpenPGP signature check, an optional decompressor and the sha256
 * of the uncompressed bytes, into NAME.part; only when every check passed is it renamed
 * to NAME. A mismatch removes the partial file. An interrupted plain download resumes from
 * its .part (the hash state is rebuilt from the bytes on disk); dropped connections resume
 * within the run, decompressing or not. A resumed .part that turns out wrong (it does not
 * verify, or is longer than the file) and a server whose answers cannot be continued are
 * started over once from byte 0.
 *
 * Names come from the URL (document data): they are confined to the directory, and the
 * files are opened without following links (files.ts).
 */
import { createHash } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { syncDirectory } from "../files/atomic.ts";
import { resolveInside } from "../files/confine.ts";
import type { Deadlines } from "../net/http.ts";
import type { StreamVerifier } from "../signature/index.ts";
import { type Compression, compressionOf, createDecompressor } from "./decompress.ts";
import { isOurs, openPart, type PartFile, prepareDirectory, verifiedFile } from "./files.ts";
import { httpBytes, TransferRestart } from "./http-source.ts";
import { memoryKeeper } from "./memory.ts";
import { fetchSignature } from "./signature.ts";
import { codeFor, fileNameOf } from "./url-path.ts";

/** One file to fetch, as a stream describes it (or just a URL). */
export interface DownloadSource {
  url: string;
  signatureUrl?: string;
  sha256?: string;
  uncompressedSha256?: string;
  /** JSON pointer of `url` in its stream; absent for a URL given on the command line. */
  pointer?: string;
}

export interface DownloadProgress {
  file: string;
  bytes: number;
  total: number | undefined;
}

export interface DownloadOptions {
  directory: string;
  /** The local name instead of the URL's last segment (still confined to `directory`). */
  fileName?: string;
  decompress?: boolean;
  /** Keys the signature must verify against; required unless `insecure`. */
  keys?: readonly Key[];
  /** Skip signature verification (digests are still checked). */
  insecure?: boolean;
  retries?: number;
  backoffMs?: number;
  /** Connect and idle deadlines of every request (the total one applies to the signature only). */
  deadlines?: Deadlines;
  /** Only the built-in decoders, even when xz/zstd are installed (tests, odd systems). */
  builtinDecompressors?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export type Digest = "sha256" | "uncompressed-sha256";

export interface DownloadResult {
  path: string;
  /** Bytes received (compressed), including any resumed prefix. */
  bytes: number;
  sha256: string;
  /** The stream's digests the bytes were checked against; empty when it gave none. */
  verified: Digest[];
  signatureKey?: string;
  /** The file was already there and verified. */
  skipped: boolean;
}

/** Buffering between stages: enough to keep every stage busy, small enough to keep memory flat. */
const STAGE_BUFFER = 256 * 1024;

/**
 * A pass-through that hashes what flows by and feeds a signature check, waiting for the
 * check when it falls behind: the download's bytes are read once, by every consumer at once.
 */
export function tap(
  hash: ReturnType<typeof createHash>,
  onBytes: (n: number) => void,
  verifier?: StreamVerifier,
): Transform {
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

/** Where one download goes, its names checked before anything is touched. */
interface Plan {
  source: DownloadSource;
  options: DownloadOptions;
  compression: Compression | undefined;
  name: string;
  finalPath: string;
  partPath: string;
}

function plan(source: DownloadSource, options: DownloadOptions): Plan {
  const origin = source.pointer === undefined ? {} : { pointer: source.pointer };
  const remoteName = options.fileName ?? fileNameOf(source.url, origin);
  const compressed = options.decompress ? compressionOf(remoteName) : undefined;
  const name = compressed?.stem ?? remoteName;
  const confine = {
    code: codeFor(origin),
    what: `${source.url}: local file name`,
    ...(source.pointer === undefined ? {} : { pointer: source.pointer }),
  };
  return {
    source,
    options,
    compression: compressed?.compression,
    name,
    finalPath: resolveInside(options.directory, [name], confine),
    partPath: resolveInside(options.directory, [`${name}.part`], confine),
  };
}

/** What a failed attempt tells the next one. */
interface Attempt {
  /** Bytes the attempt found in the .part and resumed from. */
  resumedFrom: number;
}

export async function downloadArtifact(
  source: DownloadSource,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const p = plan(source, options);
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
  await prepareDirectory(options.directory);

  // A complete file that still verifies is not fetched again.
  const finalDigest = p.compression ? source.uncompressedSha256 : source.sha256;
  if (finalDigest && (await verifiedFile(p.finalPath, finalDigest))) {
    return {
      path: p.finalPath,
      bytes: 0,
      sha256: finalDigest,
      verified: [p.compression ? "uncompressed-sha256" : "sha256"],
      skipped: true,
    };
  }

  const signature = verifySignature
    ? await fetchSignature(source.signatureUrl as string, {
        ...(options.deadlines ? { deadlines: options.deadlines } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      })
    : undefined;
  const attempt: Attempt = { resumedFrom: 0 };
  try {
    return await transfer(p, signature, true, attempt);
  } catch (error) {
    // Start over from byte 0, once: when the server cannot continue where we are, or when
    // what a resumed .part held turned out not to be the file.
    const stale =
      attempt.resumedFrom > 0 &&
      error instanceof BootstreamError &&
      (error.code === "CHECKSUM_MISMATCH" || error.code === "SIGNATURE_INVALID");
    if (!(error instanceof TransferRestart) && !stale) throw error;
  }
  try {
    return await transfer(p, signature, false, attempt);
  } catch (error) {
    if (error instanceof TransferRestart)
      throw new BootstreamError("IO", `cannot download ${source.url}: ${error.message}`, {
        path: source.url,
      });
    throw error;
  }
}

async function transfer(
  p: Plan,
  signature: Uint8Array | undefined,
  resume: boolean,
  attempt: Attempt,
): Promise<DownloadResult> {
  const { source, options, compression } = p;
  // openpgp.js is loaded only when a signature is checked: it is large.
  const verifier = signature
    ? await (await import("../signature/index.ts")).createStreamVerifier(signature, options.keys ?? [])
    : undefined;
  const compressedHash = createHash("sha256");
  const uncompressedHash = createHash("sha256");

  // Resume a plain download from what is on disk; a decompressed one restarts.
  let part: PartFile;
  try {
    part = await openPart(p.partPath, resume && !compression, compressedHash, verifier);
  } catch (error) {
    verifier?.input.destroy();
    throw error;
  }
  const offset = part.offset;
  attempt.resumedFrom = offset;

  let received = offset;
  let total: number | undefined;
  const keepMemoryFlat = memoryKeeper();
  const progress = (n: number) => {
    received += n;
    keepMemoryFlat(n);
    options.onProgress?.({ file: p.name, bytes: received, total });
  };
  const chunks = httpBytes(source.url, {
    offset,
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
    ...(options.deadlines?.connectTimeoutMs !== undefined
      ? { connectTimeoutMs: options.deadlines.connectTimeoutMs }
      : {}),
    ...(options.deadlines?.idleTimeoutMs !== undefined
      ? { idleTimeoutMs: options.deadlines.idleTimeoutMs }
      : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onTotal: (bytes) => {
      total = bytes;
    },
  });
  const out: Writable = part.handle.createWriteStream({ highWaterMark: 1 << 20 });
  try {
    const input = Readable.from(chunks, { objectMode: false, highWaterMark: STAGE_BUFFER });
    const compressedTap = tap(compressedHash, progress, verifier);
    try {
      if (compression) {
        const decoder = await createDecompressor(compression, {
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
      if (error instanceof BootstreamError || error instanceof TransferRestart) throw error;
      // Anything a decoder throws means the bytes were not what their suffix says.
      if (compression && !(error as NodeJS.ErrnoException).syscall) {
        throw new BootstreamError(
          "CHECKSUM_MISMATCH",
          `${source.url} does not decompress as ${compression}: ${(error as Error).message}`,
          { cause: error, path: source.url },
        );
      }
      throw new BootstreamError("IO", `cannot download ${source.url}: ${(error as Error).message}`, {
        cause: error,
        path: source.url,
      });
    }
    verifier?.input.end();
    const sha256 = compressedHash.digest("hex");
    const verified: Digest[] = [];
    if (source.sha256) {
      if (sha256 !== source.sha256) throw mismatch("sha256", source.url, source.sha256, sha256);
      verified.push("sha256");
    }
    if (compression && source.uncompressedSha256) {
      const actual = uncompressedHash.digest("hex");
      if (actual !== source.uncompressedSha256)
        throw mismatch("uncompressed sha256", source.url, source.uncompressedSha256, actual);
      verified.push("uncompressed-sha256");
    }
    const signatureKey = verifier ? await verifier.result : undefined;
    if (!(await isOurs(p.partPath, part)))
      throw new BootstreamError("IO", `${p.partPath} was replaced while it was written`, {
        path: p.partPath,
      });
    await rename(p.partPath, p.finalPath);
    await syncDirectory(options.directory);
    return {
      path: p.finalPath,
      bytes: received,
      sha256,
      verified,
      skipped: false,
      ...(signatureKey ? { signatureKey } : {}),
    };
  } catch (error) {
    verifier?.input.destroy();
    if (!out.destroyed) out.destroy();
    // A proven-bad file goes; a merely interrupted plain download stays for resuming (if it
    // got anywhere: an empty .part is just clutter).
    const keep =
      error instanceof BootstreamError &&
      (error.code === "IO" || error.code === "TIMEOUT") &&
      !compression &&
      received > 0;
    if (!keep && (await isOurs(p.partPath, part))) await rm(p.partPath, { force: true });
    throw error;
  }
}
