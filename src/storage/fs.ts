/**
 * A store in a local directory. Creating uses link(2) from a complete temporary file, so a
 * key appears whole or not at all and never twice; compare-and-swap takes a per-key lock
 * file (O_EXCL), compares the content hash, then renames a complete temporary file over
 * the key. A lock left by a dead process is broken after LOCK_STALE_MS.
 */
import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { BootstreamError } from "../errors.ts";
import { syncDirectory } from "../files/atomic.ts";
import { checkKey, type Store, type StoredObject } from "./store.ts";

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

export class FsStore implements Store {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split("/"));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const body = await readFile(this.path(key));
      return { body, etag: sha256Hex(body) };
    } catch (error) {
      if (isCode(error, "ENOENT")) return undefined;
      throw this.ioError("read", key, error);
    }
  }

  async head(key: string): Promise<string | undefined> {
    return (await this.get(key))?.etag;
  }

  /** Writes a complete, fsynced temporary file beside `path`. */
  private async writeTemp(path: string, body: Uint8Array): Promise<string> {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
  }

  async putNew(key: string, body: Uint8Array): Promise<string> {
    const path = this.path(key);
    let temp: string | undefined;
    try {
      temp = await this.writeTemp(path, body);
      await link(temp, path); // fails with EEXIST instead of replacing
      await syncDirectory(dirname(path));
      return sha256Hex(body);
    } catch (error) {
      if (isCode(error, "EEXIST"))
        throw new BootstreamError("CONFLICT", `${key} already exists in ${this.location}`, { path: key });
      throw this.ioError("write", key, error);
    } finally {
      if (temp !== undefined) await rm(temp, { force: true });
    }
  }

  async putIfMatch(key: string, body: Uint8Array, ifMatch: string | null): Promise<string> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
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
      const temp = await this.writeTemp(path, body);
      try {
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      await syncDirectory(dirname(path));
      return sha256Hex(body);
    } catch (error) {
      if (error instanceof BootstreamError) throw error;
      throw this.ioError("write", key, error);
    } finally {
      await release();
    }
  }

  private async lock(path: string, key: string): Promise<() => Promise<void>> {
    const lockPath = `${path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        const handle = await open(lockPath, "wx");
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return () => unlink(lockPath).catch(() => undefined);
      } catch (error) {
        if (!isCode(error, "EEXIST")) throw this.ioError("lock", key, error);
      }
      if (await isStale(lockPath)) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new BootstreamError("CONFLICT", `${key} is locked by another publisher (${lockPath})`, {
          path: key,
        });
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isCode(error, "ENOENT") || isCode(error, "ENOTDIR")) return;
        throw this.ioError("list", prefix, error);
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) out.push(relative(this.root, full).split(sep).join("/"));
      }
    };
    // Walk only the directory the prefix names, not the whole store.
    const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    await walk(dirPart === "" ? this.root : join(this.root, ...dirPart.split("/")));
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private ioError(what: string, key: string, cause: unknown): BootstreamError {
    return new BootstreamError(
      "IO",
      `cannot ${what} ${key} in ${this.location}: ${(cause as Error).message}`,
      { path: key, cause },
    );
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  try {
    const info = await stat(lockPath);
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number((await readFile(lockPath, "utf8")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0); // signal 0: only asks whether the process exists
      return false;
    } catch (error) {
      return isCode(error, "ESRCH");
    }
  } catch {
    return false;
  }
}
