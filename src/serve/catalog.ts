/**
 * What serve answers from: the last verified version of every store object it has read.
 *
 * - A mutable object (pointer, history, their signatures) is revalidated against the store
 *   once it is older than `revalidateMs` (a cheap head; the body only when it changed), so a
 *   publish shows within that time. Concurrent requests share one store call per key.
 * - An immutable object (a pinned copy and its signature) is never read again once verified.
 * - When revalidation fails (the store errors, or misses its deadline), the last verified
 *   version stays the answer and the lookup says it is stale. After one failure the next
 *   lookups do not wait for the store again: they answer at once while a single background
 *   call per key finds out whether the store is back.
 * - Bytes read from the store replace the verified copy only after `verify` accepts them;
 *   damaged bytes are reported and the previous version keeps being served.
 * - A key never read successfully has nothing to fall back on: UNAVAILABLE (503).
 */
import { createHash } from "node:crypto";
import { BootstreamError, toBootstreamError } from "../errors.ts";
import type { Store } from "../storage/store.ts";
import type { CacheDir, LoadedObject } from "./cache-dir.ts";
import type { ServedObject } from "./objects.ts";

export interface Found {
  /** Undefined: the store said there is no such object (a verified absence). */
  object: ServedObject | undefined;
  /** True when the store could not be asked and this is the last verified answer. */
  stale: boolean;
}

export interface CatalogOptions {
  /** Every call already carries its deadline (storage/deadline.ts). */
  store: Store;
  revalidateMs: number;
  /** Objects that never change once written (pinned copies and their signatures). */
  immutable(key: string): boolean;
  /** Whether the store passed its latest check: an answer of "absent" is believed only then. */
  storeUp(): boolean;
  /** Throws (IO) when bytes read from the store must not be served. */
  verify(key: string, body: Buffer, sha256: string): Promise<void> | void;
  /** Persists verified objects, when serve runs with --cache-dir. */
  cacheDir?: CacheDir;
  /** Bytes the store holds for `key` were refused by `verify`. */
  onDamaged?(key: string, error: BootstreamError): void;
  maxEntries?: number;
}

interface Slot {
  /** options.immutable(key), decided once per key (the hot path asks on every request). */
  immutable: boolean;
  object: ServedObject | undefined;
  /** Whether the store has ever answered for this key (object undefined + known = absent). */
  known: boolean;
  checkedAt: number;
  /** Set when the last store call for this key failed; cleared by the next success. */
  failing: boolean;
  /**
   * Why the last call failed, when it was this object's fault (damaged bytes, a link in a
   * directory store) rather than the store's: answered as it is, not as UNAVAILABLE.
   */
  objectError?: BootstreamError | undefined;
  pending: Promise<void> | undefined;
}

/** peek() answer when the catalog cannot tell without asking the store. */
export const UNKNOWN = Symbol("unknown");

export class Catalog {
  private readonly slots = new Map<string, Slot>();
  private readonly maxEntries: number;
  private objectBytes = 0;
  private objectCount = 0;

  constructor(private readonly options: CatalogOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Objects loaded from --cache-dir: served as verified, revalidated on first use. */
  seed(objects: readonly LoadedObject[]): void {
    for (const loaded of objects) {
      const object = servedObject(
        loaded.key,
        loaded.body,
        loaded.sha256,
        loaded.storeTag,
        loaded.lastModifiedMs,
      );
      if (loaded.pinnedId !== undefined) object.pinnedId = loaded.pinnedId;
      this.store(loaded.key, {
        immutable: this.options.immutable(loaded.key),
        object,
        known: true,
        checkedAt: 0,
        failing: false,
        pending: undefined,
      });
    }
  }

  /** Number and bytes of verified objects held (for metrics and readiness). */
  stats(): { objects: number; bytes: number } {
    return { objects: this.objectCount, bytes: this.objectBytes };
  }

  /** The verified object when it can be answered without the store (fresh or immutable). */
  peek(key: string): ServedObject | undefined | typeof UNKNOWN {
    const slot = this.slots.get(key);
    if (slot === undefined || !slot.known) return UNKNOWN;
    if (slot.object !== undefined && slot.immutable) return slot.object;
    if (slot.failing || Date.now() - slot.checkedAt >= this.options.revalidateMs) return UNKNOWN;
    return slot.object;
  }

  async get(key: string): Promise<Found> {
    let slot = this.slots.get(key);
    if (slot?.known) {
      if (slot.object !== undefined && this.options.immutable(key))
        return { object: slot.object, stale: false };
      if (!slot.failing && Date.now() - slot.checkedAt < this.options.revalidateMs)
        return { object: slot.object, stale: false };
    }
    if (slot === undefined) {
      slot = {
        immutable: this.options.immutable(key),
        object: undefined,
        known: false,
        checkedAt: 0,
        failing: false,
        pending: undefined,
      };
      this.store(key, slot);
    }
    const s = slot;
    s.pending ??= this.refresh(key, s).finally(() => {
      s.pending = undefined;
    });
    // The store failed a moment ago (for this key, or its check): answer now with the
    // verified copy, and let the pending call find out whether the store is back.
    const storeDown = s.failing || !this.options.storeUp();
    if (!storeDown || s.object === undefined) await s.pending;
    else if (!s.failing) return { object: s.object, stale: true };
    if (!s.failing) return { object: s.object, stale: false };
    if (s.object !== undefined) return { object: s.object, stale: true };
    if (s.objectError !== undefined) throw s.objectError;
    throw new BootstreamError(
      "UNAVAILABLE",
      `the store cannot be read and no verified copy of ${key} is held`,
      {
        path: key,
      },
    );
  }

  /** Forget what is held for `key` (after this server itself changed it). */
  invalidate(key: string): void {
    const slot = this.slots.get(key);
    if (slot) slot.checkedAt = 0;
  }

  private store(key: string, slot: Slot): void {
    if (!this.slots.has(key) && this.slots.size >= this.maxEntries) this.evictOldest();
    const previous = this.slots.get(key);
    if (previous?.object) this.account(previous.object, -1);
    this.slots.set(key, slot);
    if (slot.object) this.account(slot.object, 1);
  }

  private account(object: ServedObject, sign: 1 | -1): void {
    this.objectCount += sign;
    this.objectBytes += sign * object.body.byteLength;
  }

  private evictOldest(): void {
    const first = this.slots.entries().next();
    if (first.done) return;
    const [key, slot] = first.value;
    if (slot.object) this.account(slot.object, -1);
    this.slots.delete(key);
  }

  private replace(key: string, slot: Slot, object: ServedObject | undefined): void {
    if (slot.object) this.account(slot.object, -1);
    slot.object = object;
    if (object) this.account(object, 1);
    const { cacheDir } = this.options;
    if (cacheDir === undefined) return;
    if (object === undefined) cacheDir.remove(key);
    else this.persist(object);
  }

  /** Records the object (again, when its pinned id became known) in --cache-dir. */
  persist(object: ServedObject): void {
    this.options.cacheDir?.save(object.key, object.body, {
      sha256: object.sha256,
      storeTag: object.storeTag,
      lastModifiedMs: object.lastModifiedMs,
      ...(object.pinnedId === undefined ? {} : { pinnedId: object.pinnedId }),
    });
  }

  /** One store round for `key`; never throws (the slot records the outcome). */
  private async refresh(key: string, slot: Slot): Promise<void> {
    slot.objectError = undefined;
    try {
      const previous = slot.object;
      if (previous !== undefined) {
        const tag = await this.options.store.head(key);
        if (tag === previous.storeTag) {
          this.settle(slot);
          return;
        }
        if (tag === undefined) {
          this.absent(key);
          this.replace(key, slot, undefined);
          this.settle(slot);
          return;
        }
      }
      const stored = await this.options.store.get(key);
      if (stored === undefined) {
        this.absent(key);
        this.replace(key, slot, undefined);
        this.settle(slot);
        return;
      }
      const body = Buffer.from(stored.body.buffer, stored.body.byteOffset, stored.body.byteLength);
      const sha256 = createHash("sha256").update(body).digest("hex");
      if (previous !== undefined && previous.sha256 === sha256) {
        previous.storeTag = stored.etag;
        this.persist(previous);
      } else {
        try {
          await this.options.verify(key, body, sha256);
        } catch (error) {
          const damaged = toBootstreamError(error);
          this.options.onDamaged?.(key, damaged);
          slot.objectError = damaged;
          throw damaged;
        }
        this.replace(key, slot, servedObject(key, body, sha256, stored.etag, Date.now()));
      }
      this.settle(slot);
    } catch (error) {
      // The caller sees `failing`; the cause was already counted by the store observer or onDamaged.
      slot.failing = true;
      if (slot.objectError === undefined && !(await this.storeDown(error)))
        slot.objectError = toBootstreamError(error);
    }
  }

  /**
   * An absence is believed only from a store that passes its check: a directory store whose
   * root went away reports every key as absent.
   */
  private absent(key: string): void {
    if (!this.options.storeUp())
      throw new BootstreamError("UNAVAILABLE", `the store failed its check; ${key} may not really be absent`);
  }

  /** Whether a failed call means the store is down (it times out, or cannot even be checked). */
  private async storeDown(error: unknown): Promise<boolean> {
    const { code } = toBootstreamError(error);
    if (code === "TIMEOUT" || code === "UNAVAILABLE") return true;
    try {
      await this.options.store.check();
      return false;
    } catch {
      return true;
    }
  }

  private settle(slot: Slot): void {
    slot.known = true;
    slot.failing = false;
    slot.checkedAt = Date.now();
  }
}

function servedObject(
  key: string,
  body: Buffer,
  sha256: string,
  storeTag: string,
  seenMs: number,
): ServedObject {
  const lastModifiedMs = Math.floor(seenMs / 1000) * 1000;
  return {
    key,
    body,
    etag: `"${sha256}"`,
    sha256,
    lastModified: new Date(lastModifiedMs).toUTCString(),
    lastModifiedMs,
    storeTag,
    encoded: {},
    ready: {},
    variants: new Map(),
  };
}
