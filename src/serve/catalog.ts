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
import { BootstreamError, toBootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { quoteEtag } from "../net/etag.ts";
import type { Store } from "../storage/store.ts";
import type { CacheDir, LoadedObject } from "./cache-dir.ts";
import type { ServedObject } from "./objects.ts";
import type { Verified } from "./verify.ts";

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
  /** The longest a request waits on the store (the store deadline). */
  waitMs: number;
  /** Objects that never change once written (pinned copies and their signatures). */
  immutable(key: string): boolean;
  /** Whether the store passed its latest check: an answer of "absent" is believed only then. */
  storeUp(): boolean;
  /** Throws (IO) when bytes read from the store must not be served. */
  verify(key: string, body: Buffer, sha256: string): Promise<Verified>;
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
  /** performance.now() when the store last answered for this key; -Infinity: ask it on the next read. */
  checkedAt: number;
  /** Set when the last store call for this key failed; cleared by the next success. */
  failing: boolean;
  /**
   * Why the last call failed, when it was this object's fault (damaged bytes, a link in a
   * directory store) rather than the store's: answered as it is, not as UNAVAILABLE.
   */
  objectError?: BootstreamError | undefined;
  pending: Promise<void> | undefined;
  /** Pushed out to bound memory: a late store answer for it is dropped, not filed again. */
  evicted?: boolean;
}

/** peek() answer when the catalog cannot tell without asking the store. */
export const UNKNOWN = Symbol("unknown");

/**
 * Store calls in flight for keys never read. A burst of requests for random names costs one
 * store call each; past this many at once, the rest answer 503 at once instead of piling up.
 */
const MAX_UNKNOWN_CALLS = 64;

/** The longest a request for a held object waits on its revalidation before the held copy answers. */
const HELD_WAIT_MS = 250;

export class Catalog {
  /** Slots holding a verified object, oldest first (evicted past maxEntries). */
  private readonly held = new Map<string, Slot>();
  /**
   * Slots holding none (never read, or verified absent), bounded apart: a flood of unknown
   * names must never push a verified object out.
   */
  private readonly empty = new Map<string, Slot>();
  private readonly maxEntries: number;
  private objectBytes = 0;
  private unknownCalls = 0;

  constructor(private readonly options: CatalogOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Verified objects from --cache-dir: served as such, revalidated on first use. */
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
      if (loaded.stream !== undefined) object.stream = loaded.stream;
      const slot = this.newSlot(loaded.key);
      slot.known = true;
      this.place(loaded.key, slot, object);
    }
  }

  /** Number and bytes of verified objects held (for metrics and readiness). */
  stats(): { objects: number; bytes: number } {
    return { objects: this.held.size, bytes: this.objectBytes };
  }

  /** The verified object when it can be answered without the store (fresh or immutable). */
  peek(key: string, now = performance.now()): ServedObject | undefined | typeof UNKNOWN {
    const slot = this.held.get(key) ?? this.empty.get(key);
    if (slot === undefined || !slot.known) return UNKNOWN;
    if (slot.object !== undefined && slot.immutable && !slot.object.unlisted) return slot.object;
    if (slot.failing || now - slot.checkedAt >= this.options.revalidateMs) return UNKNOWN;
    return slot.object;
  }

  async get(key: string): Promise<Found> {
    let slot = this.held.get(key) ?? this.empty.get(key);
    if (slot?.known) {
      if (slot.object !== undefined && slot.immutable && !slot.object.unlisted)
        return { object: slot.object, stale: false };
      if (!slot.failing && performance.now() - slot.checkedAt < this.options.revalidateMs)
        return { object: slot.object, stale: false };
    }
    const storeUp = this.options.storeUp();
    if (slot === undefined || (!slot.known && slot.pending === undefined)) {
      // Never read: with the store down there is nothing to wait for (the heartbeat says
      // when it is back); with too many such calls in flight, nothing to wait in line for.
      if (!storeUp) throw unavailable(key, "the store is down");
      if (this.unknownCalls >= MAX_UNKNOWN_CALLS) throw unavailable(key, "too many store calls in flight");
    }
    if (slot === undefined) {
      slot = this.newSlot(key);
      this.place(key, slot, undefined);
    }
    const s = slot;
    if (s.pending === undefined) {
      const counted = !s.known;
      if (counted) this.unknownCalls++;
      s.pending = this.refresh(key, s).finally(() => {
        s.pending = undefined;
        if (counted) this.unknownCalls--;
      });
    }
    // The store failed a moment ago (for this key, or its check): answer now with what was
    // last verified (an object, or its absence) and let the pending call find out whether
    // the store is back.
    if (s.known && (s.failing || !storeUp)) return { object: s.object, stale: true };
    // One store deadline per request, however many calls the round makes (head then get,
    // the history a pinned copy is checked against): past it, answer as if it failed. A
    // verified copy waits much less: a healthy store revalidates in milliseconds, and a
    // client (or a probe-sized timeout) must not wait out a hung store for what is held.
    const wait = s.known ? Math.min(this.options.waitMs, HELD_WAIT_MS) : this.options.waitMs;
    const settled = await this.within(s.pending, wait);
    if (settled && !s.failing) return { object: s.object, stale: false };
    if (s.known) return { object: s.object, stale: true };
    if (s.objectError !== undefined) throw s.objectError;
    throw unavailable(key, "the store cannot be read");
  }

  /** Verifies an unlisted pinned copy again; once listed, its answers say immutable. */
  private async relist(key: string, object: ServedObject): Promise<void> {
    const { listed } = await this.options.verify(key, object.body, object.sha256);
    if (!listed) return;
    object.unlisted = false;
    object.variants.length = 0; // headers made while unlisted said "not immutable"
    this.persist(object);
  }

  /** Whether `pending` settled within `ms`. */
  private async within(pending: Promise<void>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const settled = await Promise.race([pending.then(() => true), timeout]);
    clearTimeout(timer);
    return settled;
  }

  /** Forget what is held for `key` (after this server itself changed it). */
  invalidate(key: string): void {
    const slot = this.held.get(key) ?? this.empty.get(key);
    if (slot) slot.checkedAt = Number.NEGATIVE_INFINITY;
  }

  private newSlot(key: string): Slot {
    return {
      immutable: this.options.immutable(key),
      object: undefined,
      known: false,
      checkedAt: Number.NEGATIVE_INFINITY,
      failing: false,
      pending: undefined,
    };
  }

  /**
   * Sets what `slot` holds and files it with its kind, evicting the oldest of that kind
   * past the bound (a slot already evicted stays out: its late answer is dropped).
   */
  private place(key: string, slot: Slot, object: ServedObject | undefined): void {
    const current = this.held.get(key) ?? this.empty.get(key);
    if (slot.evicted || (current !== undefined && current !== slot)) return;
    if (slot.object) this.objectBytes -= slot.object.body.byteLength;
    this.held.delete(key);
    this.empty.delete(key);
    slot.object = object;
    const into = object ? this.held : this.empty;
    if (into.size >= this.maxEntries) {
      const oldest = into.entries().next();
      if (!oldest.done) {
        const [oldKey, oldSlot] = oldest.value;
        into.delete(oldKey);
        oldSlot.evicted = true;
        if (oldSlot.object) this.objectBytes -= oldSlot.object.body.byteLength;
      }
    }
    into.set(key, slot);
    if (object) this.objectBytes += object.body.byteLength;
  }

  private replace(key: string, slot: Slot, object: ServedObject | undefined): void {
    this.place(key, slot, object);
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
          // An unlisted pinned copy becomes immutable once history lists it.
          if (previous.unlisted) await this.relist(key, previous);
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
      const sha256 = sha256Hex(body);
      if (previous !== undefined && previous.sha256 === sha256) {
        previous.storeTag = stored.etag;
        this.persist(previous);
      } else {
        let verified: Verified;
        try {
          verified = await this.options.verify(key, body, sha256);
        } catch (error) {
          const damaged = toBootstreamError(error);
          this.options.onDamaged?.(key, damaged);
          slot.objectError = damaged;
          throw damaged;
        }
        const object = servedObject(key, body, sha256, stored.etag, Date.now());
        if (!verified.listed) object.unlisted = true;
        if (verified.stream !== undefined) object.stream = verified.stream;
        this.replace(key, slot, object);
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
    slot.checkedAt = performance.now();
  }
}

function unavailable(key: string, why: string): BootstreamError {
  return new BootstreamError("UNAVAILABLE", `${why}, and no verified copy of ${key} is held`, { path: key });
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
    etag: quoteEtag(sha256),
    sha256,
    lastModified: new Date(lastModifiedMs).toUTCString(),
    lastModifiedMs,
    storeTag,
    encoded: {},
    ready: {},
    variants: [],
  };
}
