/**
 * Whether the store answers, as an orchestrator's probes need it: from the outcome of the
 * most recent store call (every call goes through storage/deadline.ts), kept fresh by a
 * heartbeat `check()` once per interval. A probe never waits on the store itself: kubelet
 * gives it one second, and a hung store would turn "degraded" into "probe timed out".
 */
import type { BootstreamError } from "../errors.ts";
import type { Store } from "../storage/store.ts";

export class StoreHealth {
  private lastSuccess = 0;
  private lastFailure = 0;
  private lastError: BootstreamError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  /** `onChange` hears when the store goes down or comes back (one log line, not one per call). */
  constructor(
    private readonly onChange: (up: boolean, error: BootstreamError | undefined) => void = () => {},
  ) {}

  /**
   * A check's outcome, or a call that missed its deadline. Other calls do not count: a
   * directory store whose root vanished answers every read with "absent", which looks
   * like success; only its check tells.
   */
  record(error: BootstreamError | undefined): void {
    const wasUp = this.up;
    if (error === undefined) this.lastSuccess = Date.now();
    else {
      this.lastFailure = Date.now();
      this.lastError = error;
    }
    if (wasUp !== this.up && (this.lastFailure > 0 || error !== undefined))
      this.onChange(this.up, this.error);
  }

  /** True when the most recent check succeeded and no call timed out since. */
  get up(): boolean {
    return this.lastSuccess > 0 && this.lastSuccess >= this.lastFailure;
  }

  get error(): BootstreamError | undefined {
    return this.up ? undefined : this.lastError;
  }

  /**
   * Checks the store now and then every `intervalMs` (one call at a time; the deadline
   * bounds each). Resolves after the first check, so readiness is known before listening.
   */
  async start(store: Store, intervalMs: number): Promise<void> {
    const beat = async () => {
      if (this.checking) return;
      this.checking = true;
      try {
        await store.check();
      } catch {
        // recorded by the deadline wrapper's observer
      } finally {
        this.checking = false;
      }
    };
    this.timer = setInterval(beat, intervalMs);
    this.timer.unref();
    await beat();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export type Readiness = "ok" | "degraded" | "unavailable";

export interface ReadinessReport {
  status: Readiness;
  store: "ok" | "unavailable";
  /** The store's failure, as a client may see it (code only). */
  storeError?: string;
  cached: { objects: number; bytes: number };
}

/**
 * ok: the store answers. degraded: it does not, but verified copies are being served (the
 * replica still helps; keep it in rotation). unavailable: it does not and nothing is held.
 */
export function readiness(health: StoreHealth, cached: { objects: number; bytes: number }): ReadinessReport {
  if (health.up) return { status: "ok", store: "ok", cached };
  const storeError = health.error?.code;
  return {
    status: cached.objects > 0 ? "degraded" : "unavailable",
    store: "unavailable",
    ...(storeError === undefined ? {} : { storeError }),
    cached,
  };
}
