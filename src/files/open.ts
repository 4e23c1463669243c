/**
 * Opening files we write without following links we did not make. A hostile or stale
 * directory may hold a symlink or a hard link where our output file or `.part` goes
 * (`x.part -> /etc/passwd`); opening it for writing would write through the link. So new
 * files are created with O_EXCL|O_NOFOLLOW, and an existing partial file is opened with
 * O_NOFOLLOW and used only if it is a regular file with a single link.
 */
import { constants } from "node:fs";
import { type FileHandle, lstat, open, rm } from "node:fs/promises";
import { BootstreamError } from "../errors.ts";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_RDONLY, O_NONBLOCK } = constants;

function linkError(path: string, why: string, cause?: unknown): BootstreamError {
  return new BootstreamError("IO", `refusing to use ${path}: ${why}`, {
    path,
    ...(cause === undefined ? {} : { cause }),
  });
}

function isLinkErrno(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === "ELOOP" || code === "EMLINK";
}

/** Creates `path`, which must not exist (not even as a dangling symlink). */
export async function createExclusive(path: string, mode = 0o644): Promise<FileHandle> {
  try {
    return await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST")
      throw linkError(path, "it already exists (a link or a file this run did not create)", cause);
    throw new BootstreamError("IO", `cannot create ${path}: ${(cause as Error).message}`, { path, cause });
  }
}

/**
 * Opens an existing regular file with one link for appending (a resumed `.part`), or
 * returns undefined when there is none. Anything else at `path` is refused.
 */
export async function openForAppend(path: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, O_WRONLY | O_APPEND | O_NOFOLLOW);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (isLinkErrno(cause)) throw linkError(path, "it is a symbolic link", cause);
    throw new BootstreamError("IO", `cannot open ${path}: ${(cause as Error).message}`, { path, cause });
  }
  const info = await handle.stat();
  if (!info.isFile() || info.nlink !== 1) {
    await handle.close();
    throw linkError(path, info.isFile() ? "it has other hard links" : "it is not a regular file");
  }
  return handle;
}

/**
 * Opens a regular file for reading without following a final symlink; undefined when absent.
 * O_NONBLOCK: opening a FIFO planted at `path` must not wait for a writer (it is then refused
 * as not a regular file); on regular files the flag changes nothing.
 */
export async function openForReadNoFollow(path: string): Promise<FileHandle | undefined> {
  try {
    const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw linkError(path, "it is not a regular file");
    }
    return handle;
  } catch (cause) {
    if (cause instanceof BootstreamError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (isLinkErrno(cause)) throw linkError(path, "it is a symbolic link", cause);
    throw new BootstreamError("IO", `cannot open ${path}: ${(cause as Error).message}`, { path, cause });
  }
}

/**
 * Removes whatever is at `path` if it is a symlink, or a regular file; never follows a link
 * (rm of a symlink removes the link). Used to clear a stale `.part` before creating anew.
 */
export async function removeEntry(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return;
  if (info.isDirectory()) throw linkError(path, "it is a directory");
  await rm(path, { force: true });
}
