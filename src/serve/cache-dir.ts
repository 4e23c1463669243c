/**
 * `serve --cache-dir`: the objects a replica has verified, kept on its own disk so that a
 * restarted replica answers while the store is down. Layout:
 *
 *   DIR/lock               the replica using it (pid, host): one directory per replica
 *   DIR/objects/<sha256>   the bytes, named by their digest (a pointer and the pinned copy it
 *                          equals share one file)
 *   DIR/index.json         key -> { sha256, storeTag, lastModifiedMs, pinnedId? }
 *
 * Every file is written to a temporary and renamed (writeFileAtomic), the objects before the
 * index that names them, so a crash leaves the previous index or the new one, never an index
 * naming a missing object. On load every object is hashed once: one whose bytes do not match
 * its name (disk damage, someone's edit) is removed and reported, never served; the server
 * then verifies each object's content as it does what it reads from the store.
 */

import { type FileHandle, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { sha256Hex } from "../files/hash.ts";
import { createExclusive, openForReadNoFollow } from "../files/open.ts";
import { currentProcess, identityAlive } from "../files/owner.ts";
import type { Stream } from "../schema/stream.ts";
import { isServableKey } from "./verify.ts";

/** Largest object kept (the store's own objects are capped lower). */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const MAX_INDEX_BYTES = 16 * 1024 * 1024;
/** Bounds of what a load reads, whatever the index claims: as many objects as serve holds. */
const MAX_ENTRIES = 10_000;
const MAX_LOAD_BYTES = 512 * 1024 * 1024;

const SHA256 = /^[0-9a-f]{64}$/;

const entrySchema = z.object({
  sha256: z.string().regex(SHA256),
  storeTag: z.string().max(1024),
  lastModifiedMs: z.number().int().nonnegative(),
  pinnedId: z
    .string()
    .regex(/^\d{8}(?:-\d{1,3})?$/)
    .optional(),
});

const indexSchema = z.object({
  version: z.literal(1),
  objects: z.record(z.string(), entrySchema),
});

const lockSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string().max(255),
  boot: z.string().max(64).optional(),
  started: z.string().max(32).optional(),
});

export type CachedEntry = z.infer<typeof entrySchema>;

export interface LoadedObject extends CachedEntry {
  key: string;
  body: Buffer;
  /** Set once verified: a pointer's parsed stream. */
  stream?: Stream;
}

export interface CacheDirLoad {
  objects: LoadedObject[];
  /** What could not be used, one line each (for the log). */
  dropped: string[];
}

async function readCapped(path: string, max: number): Promise<Buffer | undefined> {
  const handle = await openForReadNoFollow(path);
  if (handle === undefined) return undefined;
  try {
    const { size } = await handle.stat();
    if (size > max) throw new BootstreamError("TOO_LARGE", `${path} is larger than ${max} bytes`, { path });
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export class CacheDir {
  private readonly entries = new Map<string, CachedEntry>();
  private readonly bodies = new Map<string, Buffer>();
  /** Object files known good: hashed on load or written by this process. Only these are trusted. */
  private readonly onDisk = new Set<string>();
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** Whether this process holds DIR/lock; without it the directory is only read. */
  private locked = false;

  private constructor(
    readonly dir: string,
    private readonly onError: (error: BootstreamError) => void,
  ) {}

  /**
   * Opens (creating) the directory, takes its lock, and loads every object that still
   * hashes to its name. A directory another live replica holds is refused: two writers
   * would each replace the other's index and remove its objects.
   */
  static async open(
    dir: string,
    onError: (error: BootstreamError) => void,
  ): Promise<{ cache: CacheDir; load: CacheDirLoad }> {
    const cache = new CacheDir(dir, onError);
    try {
      await mkdir(join(dir, "objects"), { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new BootstreamError(
        "IO",
        `cannot create the cache directory ${dir}: ${(cause as Error).message}`,
        {
          path: dir,
          cause,
        },
      );
    }
    await cache.lock();
    return { cache, load: await cache.load() };
  }

  /**
   * Takes DIR/lock. A directory that cannot take one (full, read-only) is still read, never
   * written: serving from it beats not starting.
   */
  private async lock(): Promise<void> {
    const path = join(this.dir, "lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      let handle: FileHandle;
      try {
        handle = await createExclusive(path, 0o600);
      } catch (error) {
        const errno = ((error as BootstreamError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (errno !== "EEXIST") return this.readOnlyBecause(error);
        const owner = await readFile(path, "utf8")
          .then((text) => lockSchema.safeParse(JSON.parse(text)).data)
          .catch(() => undefined);
        // A dead replica's lock (SIGKILL, OOM, a restarted container whose new process has
        // the old pid), or one it died writing, is taken over.
        const stale = owner === undefined || !identityAlive(owner);
        if (attempt === 0 && stale) {
          await rm(path, { force: true });
          continue;
        }
        const who = owner ? `pid ${owner.pid} on ${owner.host}` : "another process";
        throw new BootstreamError(
          "USAGE",
          `the cache directory ${this.dir} is in use by ${who}: give each replica its own --cache-dir`,
          { path, cause: error },
        );
      }
      try {
        await handle.writeFile(`${JSON.stringify(currentProcess())}\n`);
        this.locked = true;
      } catch (error) {
        await rm(path, { force: true });
        this.readOnlyBecause(error);
      } finally {
        await handle.close();
      }
      return;
    }
  }

  private readOnlyBecause(error: unknown): void {
    this.onError(
      new BootstreamError(
        "IO",
        `the cache directory ${this.dir} cannot be locked (${(error as Error).message}); reading it, not writing it`,
        { path: this.dir, cause: error },
      ),
    );
  }

  private async load(): Promise<CacheDirLoad> {
    const dropped: string[] = [];
    const objects: LoadedObject[] = [];
    let text: Buffer | undefined;
    try {
      text = await readCapped(join(this.dir, "index.json"), MAX_INDEX_BYTES);
    } catch (error) {
      dropped.push(`index.json: ${(error as Error).message}`);
    }
    if (text === undefined) return { objects, dropped };
    let parsed: z.infer<typeof indexSchema>;
    try {
      parsed = indexSchema.parse(JSON.parse(text.toString("utf8")));
    } catch (error) {
      dropped.push(
        `index.json is not a cache index (${(error as Error).message.slice(0, 200)}); starting empty`,
      );
      return { objects, dropped };
    }
    const bad = new Set<string>();
    let bytes = 0;
    for (const [key, entry] of Object.entries(parsed.objects)) {
      const shown = JSON.stringify(key.slice(0, 200));
      if (!isServableKey(key)) {
        dropped.push(`${shown}: not a key serve answers for`);
        continue;
      }
      if (objects.length >= MAX_ENTRIES) {
        dropped.push(`${shown}: more than ${MAX_ENTRIES} entries`);
        continue;
      }
      if (bad.has(entry.sha256)) {
        dropped.push(`${shown}: objects/${entry.sha256} is unusable`);
        continue;
      }
      // One object named by many keys is read and hashed once.
      let body = this.bodies.get(entry.sha256);
      if (body === undefined) {
        try {
          body = await this.readObject(entry.sha256, MAX_LOAD_BYTES - bytes);
        } catch (error) {
          bad.add(entry.sha256);
          dropped.push(`${shown}: ${(error as Error).message}`);
          continue;
        }
        bytes += body.byteLength;
        this.bodies.set(entry.sha256, body);
        this.onDisk.add(entry.sha256);
      }
      this.entries.set(key, entry);
      objects.push({ key, body, ...entry });
    }
    return { objects, dropped };
  }

  /** An object file that hashes to its name; a damaged one is removed (a link is only unlinked). */
  private async readObject(sha: string, budget: number): Promise<Buffer> {
    const path = join(this.dir, "objects", sha);
    const body = await readCapped(path, Math.min(MAX_OBJECT_BYTES, budget));
    if (body === undefined) throw new Error(`objects/${sha} is missing`);
    if (sha256Hex(body) !== sha) {
      await rm(path, { force: true });
      throw new Error(`objects/${sha} does not hash to its name (removed)`);
    }
    return body;
  }

  /** Records `key` as holding `body`; written in the background (a failure is reported, not thrown). */
  save(key: string, body: Buffer, entry: CachedEntry): void {
    const known = this.entries.get(key);
    if (
      known?.sha256 === entry.sha256 &&
      known.storeTag === entry.storeTag &&
      known.pinnedId === entry.pinnedId
    )
      return;
    this.entries.set(key, entry);
    this.bodies.set(entry.sha256, body);
    this.schedule();
  }

  /** Forgets `key` (the store says it is gone, or its content failed verification). */
  remove(key: string): void {
    if (this.entries.delete(key)) this.schedule();
  }

  /** Writes out what is recorded, then gives up the lock. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.locked) await rm(join(this.dir, "lock"), { force: true });
    this.locked = false;
  }

  private schedule(): void {
    if (!this.locked) return;
    this.dirty = true;
    if (this.writing) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
    });
  }

  /** One writer at a time; changes made while it writes are picked up by the next round. */
  private async writeLoop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await this.writeOnce();
      } catch (cause) {
        this.onError(
          new BootstreamError(
            "IO",
            `cannot write the cache directory ${this.dir}: ${(cause as Error).message}`,
            {
              path: this.dir,
              cause,
            },
          ),
        );
        return;
      }
    }
  }

  private async writeOnce(): Promise<void> {
    const objectsDir = join(this.dir, "objects");
    const index: z.infer<typeof indexSchema> = { version: 1, objects: {} };
    for (const [key, entry] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!this.onDisk.has(entry.sha256)) {
        const body = this.bodies.get(entry.sha256);
        if (body === undefined) continue; // never name an object that is not on disk
        await writeFileAtomic(join(objectsDir, entry.sha256), body, { mode: 0o600 });
        this.onDisk.add(entry.sha256);
      }
      index.objects[key] = entry;
    }
    await writeFileAtomic(join(this.dir, "index.json"), `${JSON.stringify(index)}\n`, { mode: 0o600 });
    // Only after the new index is in place may the objects nothing names go (the lock makes
    // every object file here this process's own).
    const named = new Set([...this.entries.values()].map((e) => e.sha256));
    for (const name of await readdir(objectsDir)) {
      if (named.has(name) || !SHA256.test(name)) continue;
      await rm(join(objectsDir, name), { force: true });
      this.onDisk.delete(name);
    }
    for (const sha of [...this.bodies.keys()]) if (!named.has(sha)) this.bodies.delete(sha);
  }
}
