/**
 * The local files of a download, opened so that nothing planted in the directory is
 * written through or trusted: a `.part` is resumed only if it is a regular file with one
 * link (openForAppend), otherwise the entry is removed (a link goes, never its target) and
 * created afresh with O_EXCL|O_NOFOLLOW; a complete file is trusted only if it is a
 * regular file with one link. The final rename replaces whatever entry has the name.
 */
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { lstat, mkdir, stat } from "node:fs/promises";
import { BootstreamError } from "../errors.ts";
import { createExclusive, openForAppend, openForReadNoFollow, removeEntry } from "../files/open.ts";
import type { StreamVerifier } from "../signature/index.ts";

/** Makes `dir` (and its parents) unless it is there; refuses a path that is not a directory. */
export async function prepareDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory())
    throw new BootstreamError("USAGE", `${dir} is not a directory`, { path: dir });
  if (info !== undefined) return;
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new BootstreamError("USAGE", `cannot make directory ${dir}: ${(cause as Error).message}`, {
      path: dir,
      cause,
    });
  }
}

/**
 * Opens `path` for reading only if it is a regular file with a single link: lstat first,
 * so a FIFO or device never blocks the open, then O_NOFOLLOW and the same inode.
 */
async function openOwnFile(path: string): Promise<FileHandle | undefined> {
  const entry = await lstat(path).catch(() => undefined);
  if (entry === undefined || !entry.isFile() || entry.nlink !== 1) return undefined;
  const handle = await openForReadNoFollow(path).catch(() => undefined);
  if (handle === undefined) return undefined;
  const info = await handle.stat();
  if (info.ino !== entry.ino || info.dev !== entry.dev || info.nlink !== 1) {
    await handle.close();
    return undefined;
  }
  return handle;
}

/** Feeds a file's bytes to `hash` (and a signature check); returns how many there were. */
async function hashHandle(handle: FileHandle, hash: Hash, verifier?: StreamVerifier): Promise<number> {
  let size = 0;
  for await (const chunk of handle.createReadStream({ start: 0, highWaterMark: 1 << 20, autoClose: false })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (verifier && !verifier.input.write(chunk)) await new Promise((r) => verifier.input.once("drain", r));
  }
  return size;
}

/** True if `path` is our own regular file and hashes to `sha256` (links are never followed). */
export async function verifiedFile(path: string, sha256: string): Promise<boolean> {
  const handle = await openOwnFile(path);
  if (handle === undefined) return false;
  try {
    const hash = createHash("sha256");
    await hashHandle(handle, hash);
    return hash.digest("hex") === sha256;
  } finally {
    await handle.close();
  }
}

export interface PartFile {
  handle: FileHandle;
  /** Bytes already in it (a resumed download), already fed to the hash. */
  offset: number;
  /** Identity of the file we write, checked again before it is renamed or removed. */
  ino: number;
  dev: number;
}

/**
 * The `.part` to write: the existing one resumed (its bytes fed to `hash` and `verifier`)
 * when `resume` and it is our own file, else a new empty one.
 */
export async function openPart(
  path: string,
  resume: boolean,
  hash: Hash,
  verifier?: StreamVerifier,
): Promise<PartFile> {
  if (resume) {
    const appender = await openForAppend(path).catch((error: unknown) => {
      // A link or something else that is not ours: it is replaced below, never written through.
      if (error instanceof BootstreamError) return undefined;
      throw error;
    });
    if (appender !== undefined) {
      try {
        const reader = await openOwnFile(path);
        const info = await appender.stat();
        if (reader !== undefined) {
          try {
            const read = await reader.stat();
            if (read.ino === info.ino && read.dev === info.dev) {
              const offset = await hashHandle(reader, hash, verifier);
              return { handle: appender, offset, ino: info.ino, dev: info.dev };
            }
          } finally {
            await reader.close();
          }
        }
      } catch (error) {
        await appender.close();
        throw error;
      }
      await appender.close();
    }
  }
  await removeEntry(path);
  const handle = await createExclusive(path);
  const info = await handle.stat();
  return { handle, offset: 0, ino: info.ino, dev: info.dev };
}

/** True if `path` is still the file we opened (nobody swapped the entry meanwhile). */
export async function isOurs(path: string, part: PartFile): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  return info?.isFile() === true && info.ino === part.ino && info.dev === part.dev;
}

/** The bytes of `path` if it is our own regular file of at most `max` bytes, else undefined. */
export async function readOwnFile(path: string, max: number): Promise<Uint8Array | undefined> {
  const handle = await openOwnFile(path);
  if (handle === undefined) return undefined;
  try {
    if ((await handle.stat()).size > max) return undefined;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
