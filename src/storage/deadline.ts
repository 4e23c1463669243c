/**
 * A store whose every call has a deadline. A paused or partitioned store does not fail, it
 * hangs; a server that waits on it hangs its clients too. Each call here is aborted (its
 * AbortSignal fires, so the S3 SDK drops the connection) and fails with TIMEOUT once its
 * deadline passes, whether or not the underlying store honours the signal. Every call is
 * reported to `observe` (latency and outcome), which is what serve's metrics and readiness
 * are built on.
 */
import { BootstreamError, toBootstreamError } from "../errors.ts";
import type { PutOptions, ReadOptions, Store } from "./store.ts";

export type StoreOp = "check" | "get" | "head" | "list" | "put" | "delete" | "leftovers";

/** `error` is undefined for a call that succeeded (a missing key is a success). */
export type StoreCallObserver = (op: StoreOp, seconds: number, error: BootstreamError | undefined) => void;

export interface DeadlineOptions {
  /** Deadline of a read (check, get, head, list). */
  readMs: number;
  /** Deadline of a write; longer, since a write the caller gave up on may still land. */
  writeMs: number;
  observe?: StoreCallObserver;
}

export function withDeadline(store: Store, options: DeadlineOptions): Store {
  const { readMs, writeMs, observe } = options;
  function call<T>(op: StoreOp, ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const finish = (error: BootstreamError | undefined) => {
        clearTimeout(timer);
        observe?.(op, (performance.now() - started) / 1000, error);
      };
      const timer = setTimeout(() => {
        const error = new BootstreamError(
          "TIMEOUT",
          `store ${store.location} did not answer a ${op} within ${ms / 1000} s`,
        );
        finish(error);
        controller.abort(error);
        reject(error);
      }, ms);
      run(controller.signal).then(
        (value) => {
          if (controller.signal.aborted) return;
          finish(undefined);
          resolve(value);
        },
        (cause: unknown) => {
          if (controller.signal.aborted) return;
          const error = toBootstreamError(cause);
          finish(error);
          reject(error);
        },
      );
    });
  }
  const read = (extra: ReadOptions | undefined, signal: AbortSignal): ReadOptions => ({
    signal: extra?.signal ? AbortSignal.any([extra.signal, signal]) : signal,
  });
  return {
    location: store.location,
    check: (o) => call("check", readMs, (signal) => store.check(read(o, signal))),
    get: (key, o) => call("get", readMs, (signal) => store.get(key, read(o, signal))),
    head: (key, o) => call("head", readMs, (signal) => store.head(key, read(o, signal))),
    list: (prefix, o) => call("list", readMs, (signal) => store.list(prefix, read(o, signal))),
    putNew: (key: string, body: Uint8Array, o?: PutOptions) =>
      call("put", writeMs, () => store.putNew(key, body, o)),
    putIfMatch: (key: string, body: Uint8Array, ifMatch: string | null, o?: PutOptions) =>
      call("put", writeMs, () => store.putIfMatch(key, body, ifMatch, o)),
    delete: (key) => call("delete", writeMs, () => store.delete(key)),
    leftovers: (prefix) => call("leftovers", writeMs, () => store.leftovers(prefix)),
    clearLeftovers: (prefix) => call("leftovers", writeMs, () => store.clearLeftovers(prefix)),
  };
}
