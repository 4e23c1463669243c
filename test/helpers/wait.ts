/**
 * Waiting for a condition instead of sleeping for a guessed time.
 * Prefer an event (a server's 'listening', a line on stderr, a child's 'exit'); where nothing
 * emits one, `waitFor` polls with a short interval and returns as soon as the condition holds.
 */
import { existsSync, watch } from "node:fs";
import { dirname } from "node:path";

export interface WaitOptions {
  /** Give up (and throw) after this long. */
  timeoutMs?: number;
  /** Time between checks when polling. */
  intervalMs?: number;
  /** Says what was awaited, for the error on timeout. */
  what?: string;
}

/**
 * Resolves with the first truthy value of `condition()` (sync or async), checked at once and then
 * every `intervalMs`; rejects after `timeoutMs` (default 10 s). An exception from `condition`
 * counts as "not yet" until the deadline, where it becomes the cause.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 10, what = "condition" }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await pause(intervalMs);
  }
}

/**
 * Resolves once `path` exists: watches its directory (inotify on Linux) and checks after the
 * watch is set, so a file created meanwhile is not missed; rejects after `timeoutMs` (default 60 s).
 */
export function untilFileExists(
  path: string,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dirname(path));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      watcher.close();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${path}`)),
      timeoutMs,
    );
    watcher.on("change", () => {
      if (existsSync(path)) finish();
    });
    watcher.on("error", (error) => finish(error));
    if (existsSync(path)) finish();
  });
}

/**
 * A deliberate wait that IS the behaviour under test ("nothing happens for N ms", "the heartbeat
 * interval passes"). Name it so a reader can tell it from a guessed wait.
 */
export function elapse(ms: number): Promise<void> {
  return pause(ms);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
