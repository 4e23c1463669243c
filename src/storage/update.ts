/**
 * Compare-and-swap updates of one store object, for state that several writers change at
 * once (history.json, signatures of mutable files, the git sync record). Every such update in
 * the code goes through `updateWithRetry`, so they all ride out the same races the same way.
 */
import { BootstreamError } from "../errors.ts";
import type { PutOptions, Store, StoredObject } from "./store.ts";

/** Lost rounds one update rides out: each one means another writer made progress. */
export const UPDATE_ATTEMPTS = 100;

export interface UpdateOptions {
  /** Lost rounds ridden out before the CONFLICT is thrown (default UPDATE_ATTEMPTS). */
  attempts?: number;
  put?: PutOptions;
}

/** Whether a CONFLICT came from `key` really changing (not from a held lock, say). */
export async function changedSince(
  store: Store,
  key: string,
  version: string | null | undefined,
): Promise<boolean> {
  return ((await store.head(key)) ?? null) !== (version ?? null);
}

/** A short random pause: a crowd of racing writers spreads out instead of re-colliding in lockstep. */
export function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(2 + attempt, 20)));
}

/**
 * Reads `key`, asks `change` for its next body (undefined: leave it as it is) and writes that
 * only over the version read. When another writer got there first (CONFLICT, and the object
 * really changed) it pauses briefly, reads again and asks `change` again, so that writer's
 * change stays. A CONFLICT without a change (a held lock) and any other error are thrown as
 * they are. True when this call wrote.
 */
export async function updateWithRetry(
  store: Store,
  key: string,
  change: (current: StoredObject | undefined) => Uint8Array | undefined | Promise<Uint8Array | undefined>,
  options: UpdateOptions = {},
): Promise<boolean> {
  const attempts = options.attempts ?? UPDATE_ATTEMPTS;
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(key);
    const next = await change(current);
    if (next === undefined) return false;
    try {
      await store.putIfMatch(key, next, current?.etag ?? null, options.put);
      return true;
    } catch (error) {
      const conflict = error instanceof BootstreamError && error.code === "CONFLICT";
      if (!conflict || attempt >= attempts || !(await changedSince(store, key, current?.etag))) throw error;
      await backoff(attempt);
    }
  }
}
