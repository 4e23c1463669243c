/**
 * Waiting for a condition instead of sleeping for a guessed time.
 * Prefer an event (a server's 'listening', a line on stderr, a child's 'exit'); where nothing
 * emits one, `waitFor` polls with a short interval and returns as soon as the condition holds.
 */

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
 * A deliberate wait that IS the behaviour under test ("nothing happens for N ms", "the heartbeat
 * interval passes"). Name it so a reader can tell it from a guessed wait.
 */
export function elapse(ms: number): Promise<void> {
  return pause(ms);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
