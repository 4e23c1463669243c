/**
 * `serve --cache-dir`: the objects a replica has verified, kept on its own disk so that a
 * restarted replica answers while the store is down. Layout:
 *
 *   DIR/objects/<sha256>   the bytes, named by their digest (a pointer and the pinned copy it
 *                          equals share one file)
 *   DIR/index.json         key -> { sha256, storeTag, lastModified, pinnedId? }
 *
 * Every file is written to a temporary and renamed (writeFileAtomic), the objects before the
 * index that names them, so a crash leaves the previous index or the new one, never an index
 * naming a missing object. On load every object is hashed: one whose bytes do not match its
 * name (disk damage, someone's edit) is dropped and reported, never served.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { openForReadNoFollow } from "../files/open.ts";
import { checkKey } from "../storage/store.ts";

/** Largest object kept (the store's own objects are capped lower). */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const MAX_INDEX_BYTES = 16 * 1024 * 1024;

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

export type CachedEntry = z.infer<typeof entrySchema>;

export interface LoadedObject extends CachedEntry {
  key: string;
  body: Buffer;
}

export interface CacheDirLoad {
  objects: LoadedObject[];
  /** What could not be used, one line each (for the log). */
  dropped: string[];
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
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
  private writing: Promise<void> | undefined;
  private dirty = false;

  private constructor(
    readonly dir: string,
    private readonly onError: (error: BootstreamError) => void,
  ) {}

  /** Opens (creating) the directory and loads every object that still hashes to its name. */
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
    return { cache, load: await cache.load() };
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
    for (const [key, entry] of Object.entries(parsed.objects)) {
      try {
        checkKey(key);
        const body = await readCapped(join(this.dir, "objects", entry.sha256), MAX_OBJECT_BYTES);
        if (body === undefined) throw new Error(`objects/${entry.sha256} is missing`);
        if (sha256(body) !== entry.sha256)
          throw new Error(`objects/${entry.sha256} does not hash to its name`);
        this.entries.set(key, entry);
        this.bodies.set(entry.sha256, body);
        objects.push({ key, body, ...entry });
      } catch (error) {
        dropped.push(`${key.slice(0, 200)}: ${(error as Error).message}`);
      }
    }
    return { objects, dropped };
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

  /** Forgets `key` (the store says it is gone). */
  remove(key: string): void {
    if (this.entries.delete(key)) this.schedule();
  }

  /** Resolves when everything recorded so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private schedule(): void {
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
    const present = new Set(await readdir(objectsDir));
    const wanted = new Set<string>();
    const index: z.infer<typeof indexSchema> = { version: 1, objects: {} };
    for (const [key, entry] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!present.has(entry.sha256)) {
        const body = this.bodies.get(entry.sha256);
        if (body === undefined) continue; // never name an object that is not on disk
        await writeFileAtomic(join(objectsDir, entry.sha256), body, { mode: 0o600 });
        present.add(entry.sha256);
      }
      wanted.add(entry.sha256);
      index.objects[key] = entry;
    }
    await writeFileAtomic(join(this.dir, "index.json"), `${JSON.stringify(index)}\n`, { mode: 0o600 });
    // Only after the new index is in place may the objects it no longer names go.
    const named = new Set([...this.entries.values()].map((e) => e.sha256));
    for (const name of present) {
      if (wanted.has(name) || named.has(name)) continue;
      if (SHA256.test(name)) await rm(join(objectsDir, name), { force: true });
    }
    // Bodies are kept only for what is named now (entries saved meanwhile included).
    for (const sha of [...this.bodies.keys()]) if (!named.has(sha)) this.bodies.delete(sha);
  }
}
