/**
 * Atomic file replacement: write a temporary file beside the target, fsync it, rename it
 * over the target, fsync the directory. A reader sees the old or the new content, never
 * a mix, and an interrupted run leaves the old file in place.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BootstreamError } from "../errors.ts";

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let mode = options.mode;
  if (mode === undefined) {
    // Keep the permissions of the file being replaced.
    mode = await stat(path).then(
      (s) => s.mode & 0o7777,
      () => 0o644,
    );
  }
  try {
    const handle = await open(temp, "wx", mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true });
    throw new BootstreamError("IO", `cannot write ${path}: ${(cause as Error).message}`, { path, cause });
  }
  await syncDirectory(dir);
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
