/**
 * Atomic file replacement and the temporary files it leaves while it works.
 *
 * `writeFileAtomic(path, data, {mode, owner})` writes a temporary file beside the target,
 * fsyncs it, renames it over the target and fsyncs the directory: a reader sees the old or
 * the new content, never a mix, and an interrupted run leaves the old file in place. The
 * rename replaces whatever entry `path` is, a symlink included: it never writes through a
 * link (an `-o OUT` planted as a link to /etc/passwd replaces the link, not the password file).
 *
 * `rewriteTarget(path)` is for rewriting a file the user named *as that file* (fmt): it
 * follows symlinks to the real file, refuses what cannot be replaced faithfully (not a
 * regular file, several hard links) and returns the real path with the owner and mode to
 * keep, which `writeFileAtomic` then applies to the new file before the rename.
 *
 * Temporary files are registered while they exist, so a signal does not leave them behind:
 *   trackTemp(path)          a temporary file that must not outlive this process
 *   untrackTemp(path)        it was renamed into place or removed
 *   removeTrackedTempsSync() removes every registered one; bin.ts calls it on SIGINT/SIGTERM
 *                            just before the process ends (synchronous: no event loop is left)
 * Any module creating a temporary file may register it. A download's `.part` is deliberately
 * not registered: it is the resume point of the next run, not garbage.
 */
import { randomBytes } from "node:crypto";
import { unlinkSync } from "node:fs";
import { lstat, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BootstreamError } from "../errors.ts";

const tracked = new Set<string>();

/** Registers a temporary file (before creating it) for removal if a signal ends the process. */
export function trackTemp(path: string): void {
  tracked.add(path);
}

/** Unregisters a temporary file once it was renamed into place or removed. */
export function untrackTemp(path: string): void {
  tracked.delete(path);
}

/** Removes every registered temporary file; errors (already renamed, already gone) are ignored. */
export function removeTrackedTempsSync(): void {
  for (const path of tracked) {
    try {
      unlinkSync(path);
    } catch {
      /* renamed into place or never created: nothing to clean */
    }
  }
  tracked.clear();
}

export interface AtomicWriteOptions {
  /** Permission bits of the new file; default: those of the regular file replaced, else 0644 less the umask. */
  mode?: number;
  /** Owner and group of the new file (fmt keeps the file's own); refused when not permitted. */
  owner?: { uid: number; gid: number };
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  // Keep the permissions of a regular file being replaced; a link's own bits (0777) are no guide.
  const mode =
    options.mode ??
    (await lstat(path).then(
      (s) => (s.isFile() ? s.mode & 0o7777 : undefined),
      () => undefined,
    ));
  // Registered before it exists: a signal between the open and the next line must not leak it.
  trackTemp(temp);
  let created = false;
  try {
    const handle = await open(temp, "wx", mode ?? 0o644);
    created = true;
    try {
      await handle.writeFile(data);
      if (options.owner !== undefined) await keepOwner(handle, options.owner, path);
      // Exactly these bits: the umask applied at open, and chown clears set-id bits.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    // Only a file this call created is removed: "wx" failing means the name was someone else's.
    if (created) await rm(temp, { force: true });
    if (cause instanceof BootstreamError) throw cause;
    throw new BootstreamError("IO", `cannot write ${path}: ${reason(cause)}`, { path, cause });
  } finally {
    untrackTemp(temp);
  }
  await syncDirectory(dir);
}

async function keepOwner(
  handle: Awaited<ReturnType<typeof open>>,
  owner: { uid: number; gid: number },
  path: string,
): Promise<void> {
  const own = await handle.stat();
  if (own.uid === owner.uid && own.gid === owner.gid) return;
  try {
    await handle.chown(owner.uid, owner.gid);
  } catch (cause) {
    // Renaming a file we cannot give its owner back would hand it to us: refuse instead.
    throw new BootstreamError(
      "IO",
      `${path} belongs to ${owner.uid}:${owner.gid}, an owner this user cannot give its rewritten copy: run as that owner, or write the result elsewhere with -o`,
      { path, cause },
    );
  }
}

/** The file to replace when rewriting `path` in place, and what the new file must keep of it. */
export interface RewriteTarget {
  /** The real file: `path` with every symlink resolved, so the link stays a link. */
  path: string;
  mode: number;
  owner: { uid: number; gid: number };
}

/** Checks that `path` names a file that can be rewritten faithfully; a one-line USAGE error if not. */
export async function rewriteTarget(path: string): Promise<RewriteTarget> {
  let info: Awaited<ReturnType<typeof stat>>;
  let real: string;
  try {
    info = await stat(path);
    real = await realpath(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "ELOOP"
          ? "too many levels of symbolic links"
          : reason(cause);
    throw new BootstreamError(code === "ENOENT" ? "NOT_FOUND" : "IO", `${path}: ${why}`, { path, cause });
  }
  if (!info.isFile()) {
    throw new BootstreamError(
      "USAGE",
      `${path} is ${kindOf(info)}, not a regular file: it cannot be rewritten in place (write the result elsewhere with -o, or to standard output with -o -)`,
      { path },
    );
  }
  // Replacing the file would split its names: the other links would keep the old text. Writing
  // into the inode instead (truncate + write) is not atomic: an interruption or a full disk
  // leaves every name with a truncated document. Neither is what the user asked; they choose.
  if (info.nlink > 1) {
    throw new BootstreamError(
      "USAGE",
      `${path} has ${info.nlink} hard links, which rewriting it in place would separate: write the result elsewhere with -o, then copy it over the file (cp keeps the links)`,
      { path },
    );
  }
  return { path: real, mode: info.mode & 0o7777, owner: { uid: info.uid, gid: info.gid } };
}

function kindOf(info: Awaited<ReturnType<typeof stat>>): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "not a regular file";
}

function reason(cause: unknown): string {
  const error = cause as NodeJS.ErrnoException;
  switch (error.code) {
    case "ENOSPC":
      return "no space left on the device";
    case "EDQUOT":
      return "disk quota exceeded";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOENT":
      return "no such directory";
    case "EROFS":
      return "read-only file system";
    default:
      return error instanceof Error ? error.message : String(cause);
  }
}

/** fsync of a directory, making a rename in it durable; best effort. */
export async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; some filesystems refuse fsync on a directory.
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}
