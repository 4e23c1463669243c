/**
 * A store in a local directory. Creating uses link(2) from a complete temporary file, so a
 * key appears whole or not at all and never twice; compare-and-swap takes a per-key lock
 * file (O_EXCL), compares the content hash, then renames a complete temporary file over
 * the key.
 *
 * The directory may be hostile or damaged, so nothing here follows a link inside it: every
 * directory below the root is lstat'ed (a symlink is refused, never entered), files are
 * opened with O_NOFOLLOW, and on Linux the opened descriptor's real path is compared with
 * the path we meant (/proc/self/fd), which also catches a directory swapped for a link
 * between the check and the open. Writes never open an existing file: they create a new
 * temporary (O_EXCL|O_NOFOLLOW) and link or rename it into place.
 *
 * Locks and temporaries record their writer (pid and host) so that a later run can tell
 * the leftovers of a killed writer from a live one's files, and remove only the former.
 */

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { syncDirectory } from "../files/atomic.ts";
import { sha256Hex } from "../files/hash.ts";

import { HOST, processAlive } from "../files/owner.ts";
import {
  checkKey,
  LEFTOVER_SUFFIX,
  type Leftover,
  STALE_AFTER_MS,
  type Store,
  type StoredObject,
} from "./store.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/** How long a compare-and-swap waits for a live writer's lock before giving up. */
const LOCK_WAIT_MS = 10_000;
/** Objects are stream documents and signatures; a bigger file is not ours. */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** `<key>.<pid>@<host>.<12 hex>.tmp` */
const TEMP_OWNER = /\.(\d+)@([A-Za-z0-9.-]+)\.[0-9a-f]{12}\.tmp$/;

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function tempName(path: string): string {
  return `${path}.${process.pid}@${HOST}.${randomBytes(6).toString("hex")}.tmp`;
}

/** A key's directory and file name, checked (see checkKey). */
function split(key: string): { dirs: string[]; base: string } {
  checkKey(key);
  const segments = key.split("/");
  const base = segments.pop() as string;
  return { dirs: segments, base };
}

export class FsStore implements Store {
  readonly location: string;
  private readonly root: string;
  private realRoot: string | undefined;

  constructor(root: string) {
    this.location = root;
    this.root = resolve(root);
  }

  async check(): Promise<void> {
    let info: import("node:fs").Stats;
    try {
      info = await stat(this.root);
    } catch (error) {
      const why =
        errnoOf(error) === "ENOENT"
          ? "does not exist"
          : errnoOf(error) === "ENOTDIR"
            ? "is not a directory (a part of its path is a file)"
            : `cannot be read (${errnoOf(error) ?? (error as Error).message})`;
      throw new BootstreamError("IO", `store ${this.location} ${why}`, { cause: error });
    }
    if (!info.isDirectory()) throw new BootstreamError("IO", `store ${this.location} is not a directory`);
    try {
      await readdir(this.root);
    } catch (error) {
      throw new BootstreamError("IO", `store ${this.location} cannot be read (${errnoOf(error)})`, {
        cause: error,
      });
    }
  }

  /**
   * The directory for `dirs` under the root, each part checked not to be a link; created
   * when `create`, else undefined when a part is missing (or is a file: no key can be there).
   */
  private async directory(
    dirs: readonly string[],
    key: string,
    create: boolean,
  ): Promise<string | undefined> {
    let dir = this.root;
    if (create) await mkdir(dir, { recursive: true }).catch((e) => this.fail("create", key, e));
    for (const segment of dirs) {
      dir = join(dir, segment);
      let info = await lstat(dir).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT") return undefined;
        throw this.ioError("read", key, error);
      });
      if (info === undefined) {
        if (!create) return undefined;
        await mkdir(dir).catch((error: unknown) => {
          if (errnoOf(error) !== "EEXIST") throw this.ioError("create", key, error);
        });
        info = await lstat(dir).catch((error: unknown) => this.fail("create", key, error));
      }
      if (info.isSymbolicLink()) throw this.linkError(key, `${this.relative(dir)} is a symbolic link`);
      if (!info.isDirectory()) {
        if (!create) return undefined;
        throw this.ioError("write", key, new Error(`${this.relative(dir)} is not a directory`));
      }
    }
    return dir;
  }

  private relative(path: string): string {
    return path.slice(this.root.length + 1) || ".";
  }

  /** Whether an open descriptor is the file at `path` (no link on the way); true where /proc is absent. */
  private async opened(handle: FileHandle, path: string): Promise<boolean> {
    let actual: string;
    try {
      actual = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      return true; // no /proc: the lstat walk is the check
    }
    this.realRoot ??= await realpath(this.root).catch(() => this.root);
    const expected = join(this.realRoot, this.relative(path));
    // " (deleted)": a writer renamed a new version over the name after we opened it; what we
    // hold is still the whole old version that was at this very path.
    return actual === expected || actual === `${expected} (deleted)`;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const { dirs, base } = split(key);
    const dir = await this.directory(dirs, key, false);
    if (dir === undefined) return undefined;
    const path = join(dir, base);
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted in the store must not hang the open.
      handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG") return undefined;
      if (code === "ELOOP") throw this.linkError(key, `${key} is a symbolic link`);
      throw this.ioError("read", key, error);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw this.ioError("read", key, new Error("not a regular file"));
      if (info.size > MAX_OBJECT_BYTES)
        throw this.ioError("read", key, new Error(`larger than ${MAX_OBJECT_BYTES} bytes`));
      if (!(await this.opened(handle, path)))
        throw this.linkError(key, `${key} was reached through a symbolic link`);
      const body = await handle.readFile();
      return { body, etag: sha256Hex(body) };
    } catch (error) {
      if (error instanceof BootstreamError) throw error;
      throw this.ioError("read", key, error);
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<string | undefined> {
    return (await this.get(key))?.etag;
  }

  /**
   * Writes a complete, fsynced temporary file in `dir` for `base`. On any failure (a full
   * disk) the temporary is removed before the error is thrown, so none is left behind.
   */
  private async writeTemp(dir: string, base: string, key: string, body: Uint8Array): Promise<string> {
    const temp = tempName(join(dir, base));
    let handle: FileHandle;
    try {
      handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    } catch (error) {
      throw this.ioError("write", key, error);
    }
    try {
      if (!(await this.opened(handle, temp)))
        throw this.linkError(key, "its directory was reached through a symbolic link");
      await handle.writeFile(body);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error instanceof BootstreamError ? error : this.ioError("write", key, error);
    }
    try {
      await handle.close();
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw this.ioError("write", key, error);
    }
    return temp;
  }

  async putNew(key: string, body: Uint8Array): Promise<string> {
    const { dirs, base } = split(key);
    const dir = (await this.directory(dirs, key, true)) as string;
    const temp = await this.writeTemp(dir, base, key, body);
    try {
      await link(temp, join(dir, base)); // fails with EEXIST instead of replacing (a link too)
      await syncDirectory(dir);
      return sha256Hex(body);
    } catch (error) {
      if (errnoOf(error) === "EEXIST")
        throw new BootstreamError("CONFLICT", `${key} already exists in ${this.location}`, { path: key });
      throw this.ioError("write", key, error);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async putIfMatch(key: string, body: Uint8Array, ifMatch: string | null): Promise<string> {
    const { dirs, base } = split(key);
    const dir = (await this.directory(dirs, key, true)) as string;
    const path = join(dir, base);
    const release = await this.lock(path, key);
    try {
      const current = await this.head(key);
      if ((current ?? null) !== ifMatch) {
        throw new BootstreamError(
          "CONFLICT",
          `${key} in ${this.location} changed since it was read (expected ${ifMatch === null ? "no object" : `version ${ifMatch.slice(0, 12)}`}, found ${current === undefined ? "none" : current.slice(0, 12)})`,
          { path: key },
        );
      }
      const temp = await this.writeTemp(dir, base, key, body);
      try {
        // rename replaces the name itself: even a link planted there is replaced, not written through.
        await rename(temp, path);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw this.ioError("write", key, error);
      }
      await syncDirectory(dir);
      return sha256Hex(body);
    } finally {
      await release();
    }
  }

  /** Takes `<path>.lock`, breaking a stale one; CONFLICT naming the holder after LOCK_WAIT_MS. */
  private async lock(path: string, key: string): Promise<() => Promise<void>> {
    const lockPath = `${path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        const handle = await open(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
        let ino: number;
        try {
          await handle.writeFile(
            `${JSON.stringify({ pid: process.pid, host: HOST, created: new Date().toISOString() })}\n`,
          );
          ino = (await handle.stat()).ino;
        } catch (error) {
          // A full disk fails the write: the empty lock we made must not stay behind.
          await handle.close().catch(() => undefined);
          await unlink(lockPath).catch(() => undefined);
          throw this.ioError("lock", key, error);
        }
        await handle.close();
        // Release removes the lock only if it is still ours (a stale-lock breaker may have taken it).
        return async () => {
          const info = await lstat(lockPath).catch(() => undefined);
          if (info?.ino === ino) await unlink(lockPath).catch(() => undefined);
        };
      } catch (error) {
        if (error instanceof BootstreamError) throw error;
        if (errnoOf(error) !== "EEXIST") throw this.ioError("lock", key, error);
      }
      const held = await this.inspect(lockPath, `${key}.lock`, "lock");
      if (held === undefined) continue; // released meanwhile
      if (held.leftover.stale) {
        await breakLock(lockPath, held.ino);
        continue;
      }
      if (Date.now() > deadline) {
        throw new BootstreamError("CONFLICT", `${this.location}: ${describeLock(held.leftover)}`, {
          path: key,
        });
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    }
  }

  /** What a lock or temporary file is: its writer, age, and whether it is stale. */
  private async inspect(
    path: string,
    key: string,
    kind: Leftover["kind"],
  ): Promise<{ leftover: Leftover; ino: number } | undefined> {
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined || info.isDirectory()) return undefined;
    const ageMs = Math.max(0, Date.now() - info.mtimeMs);
    let owner: Leftover["owner"];
    if (kind === "temporary") {
      const m = TEMP_OWNER.exec(path);
      if (m) owner = { pid: Number(m[1]), host: m[2] as string };
    } else if (info.isFile()) owner = await readLockOwner(path);
    const ownerGone = owner !== undefined && owner.host === HOST && !processAlive(owner.pid);
    return {
      leftover: {
        key,
        kind,
        path,
        ageMs,
        ...(owner ? { owner } : {}),
        stale: ownerGone || ageMs > STALE_AFTER_MS,
      },
      ino: info.ino,
    };
  }

  async leftovers(prefix: string): Promise<Leftover[]> {
    const out: Leftover[] = [];
    await this.walk(prefix, async (key, path, entry) => {
      if (entry.isDirectory() || !LEFTOVER_SUFFIX.test(entry.name)) return;
      const found = await this.inspect(path, key, entry.name.endsWith(".lock") ? "lock" : "temporary");
      if (found) out.push(found.leftover);
    });
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async clearLeftovers(prefix: string): Promise<Leftover[]> {
    const cleared: Leftover[] = [];
    for (const leftover of await this.leftovers(prefix)) {
      if (!leftover.stale) continue;
      if (leftover.kind === "lock") {
        const info = await lstat(leftover.path).catch(() => undefined);
        if (info === undefined || !(await breakLock(leftover.path, info.ino))) continue;
      } else {
        // A temporary's name is unique to its (dead) writer: nobody else can make it again.
        await unlink(leftover.path).catch(() => undefined);
      }
      cleared.push(leftover);
    }
    return cleared;
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    await this.walk(prefix, async (key, _path, entry) => {
      if (entry.isFile() && !LEFTOVER_SUFFIX.test(entry.name)) out.push(key);
    });
    return out.sort();
  }

  /**
   * Calls `visit` for every entry under the directory the prefix names whose key starts with
   * the prefix; symlinks are visited as entries, never entered.
   */
  private async walk(
    prefix: string,
    visit: (key: string, path: string, entry: import("node:fs").Dirent) => Promise<void>,
  ): Promise<void> {
    const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const start = dirPart === "" ? this.root : await this.directory(dirPart.split("/"), prefix, false);
    if (start === undefined) return;
    const recurse = async (dir: string, keyDir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return;
        throw this.ioError("list", prefix, error);
      }
      for (const entry of entries) {
        const key = keyDir === "" ? entry.name : `${keyDir}/${entry.name}`;
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await recurse(path, key);
        else if (key.startsWith(prefix)) await visit(key, path, entry);
      }
    };
    await recurse(start, dirPart);
  }

  async delete(key: string): Promise<void> {
    const { dirs, base } = split(key);
    const dir = await this.directory(dirs, key, false);
    if (dir === undefined) return;
    // unlink removes the name (a link itself, never its target); the directories were checked.
    await unlink(join(dir, base)).catch((error: unknown) => {
      if (errnoOf(error) !== "ENOENT") throw this.ioError("delete", key, error);
    });
  }

  private fail(what: string, key: string, cause: unknown): never {
    throw this.ioError(what, key, cause);
  }

  private ioError(what: string, key: string, cause: unknown): BootstreamError {
    const reason = errnoOf(cause) ?? (cause as Error).message;
    return new BootstreamError("IO", `cannot ${what} ${key} in ${this.location}: ${reason}`, {
      path: key,
      cause,
    });
  }

  private linkError(key: string, why: string): BootstreamError {
    return new BootstreamError(
      "IO",
      `refusing ${key} in ${this.location}: ${why}, and the store never follows links`,
      { path: key },
    );
  }
}

/**
 * What a lock file records about its writer. The host is printed in messages and a lock file
 * is store data: only a host name passes.
 */
const lockOwnerSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/),
});

async function readLockOwner(path: string): Promise<Leftover["owner"]> {
  let text: string;
  try {
    const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(512);
      const { bytesRead } = await handle.read(buffer, 0, 512, 0);
      text = buffer.subarray(0, bytesRead).toString("utf8").trim();
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  // Older releases wrote just the pid.
  if (/^\d+$/.test(text)) return { pid: Number(text), host: HOST };
  try {
    const owner = lockOwnerSchema.safeParse(JSON.parse(text));
    if (owner.success) return owner.data;
  } catch {
    /* not recorded */
  }
  return undefined;
}

/**
 * Removes the lock at `lockPath` only if it is still the stale one (inode `ino`). It is first
 * renamed atomically to a name of our own; if what was moved turns out to be a newer lock
 * (someone broke the stale one and locked again in between), it is linked back at once
 * (link never replaces), so a live lock is never removed. True when the stale lock is gone.
 */
async function breakLock(lockPath: string, ino: number): Promise<boolean> {
  const aside = tempName(lockPath);
  try {
    await rename(lockPath, aside);
  } catch {
    return false; // gone already
  }
  const moved = await lstat(aside).catch(() => undefined);
  if (moved !== undefined && moved.ino !== ino) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  return moved?.ino === ino;
}

/** A held lock, for a message: who holds it, for how long, and how to clear it. */
export function describeLock(lock: Leftover): string {
  const seconds = Math.round(lock.ageMs / 1000);
  const who = lock.owner
    ? `pid ${lock.owner.pid} on ${lock.owner.host}`
    : "a writer that did not record itself";
  const state = lock.stale ? "is a stale lock" : "is held: another publisher is writing";
  return (
    `${lock.key} ${state} (by ${who}, for ${seconds} s); ` +
    (lock.stale
      ? "the next publish removes it, or remove that file"
      : `if no publisher is running, remove that file, or publish again once it is ${STALE_AFTER_MS / 1000} s old`)
  );
}
