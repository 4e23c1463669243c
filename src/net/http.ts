/**
 * HTTP requests to peers that may be hostile or broken: every request has a deadline for
 * the response headers (connecting included) and an idle deadline between body chunks,
 * and every body is capped whether or not the peer sends a Content-Length. A stalled peer
 * is reported as TIMEOUT naming the host, not as a reset a minute later.
 */
import { BootstreamError } from "../errors.ts";

/** Time allowed from sending a request until the response headers arrive. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** Time allowed between two chunks of a response body. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/**
 * Time allowed for a whole request of a small document: a peer that drips a byte just
 * inside the idle deadline would otherwise hold a reader for days.
 */
export const DEFAULT_TOTAL_TIMEOUT_MS = 300_000;

export interface Deadlines {
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Whole request, headers and body (httpRequest only; artifact downloads have no total). */
  totalTimeoutMs?: number;
}

export interface HttpRequestOptions extends Deadlines {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Largest body accepted; larger (announced or actual) is TOO_LARGE. */
  maxBytes: number;
  /** Follow redirects (default) or hand 3xx back. */
  redirect?: "follow" | "manual";
  signal?: AbortSignal;
}

export interface HttpReply {
  status: number;
  statusText: string;
  headers: Headers;
  /** The final URL after redirects. */
  url: string;
  body: Buffer;
}

/** host[:port] of a URL, as messages name a peer. */
export function hostOf(url: string | URL): string {
  try {
    return new URL(url).host;
  } catch {
    return String(url);
  }
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

export function timeoutError(
  url: string | URL,
  phase: "connect" | "idle" | "total",
  ms: number,
): BootstreamError {
  const host = hostOf(url);
  const message =
    phase === "connect"
      ? `${host} did not answer within ${seconds(ms)} (${String(url)})`
      : phase === "idle"
        ? `${host} sent nothing for ${seconds(ms)} (${String(url)})`
        : `${host} did not finish sending within ${seconds(ms)} (${String(url)})`;
  return new BootstreamError("TIMEOUT", message, { path: String(url) });
}

export function tooLargeError(url: string | URL, max: number): BootstreamError {
  return new BootstreamError("TOO_LARGE", `${String(url)} is larger than ${max} bytes, the limit for it`, {
    path: String(url),
  });
}

/** Why a fetch failed, in words: the errno of the underlying socket error when there is one. */
export function networkReason(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ?? inner?.message ?? (cause as Error).message ?? String(cause);
}

/**
 * A watchdog that aborts `controller` with a TIMEOUT once `ms` pass without `kick()`.
 * One object for the headers phase and the body phase, so a request has exactly one timer.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private readonly total: NodeJS.Timeout | undefined;
  readonly controller = new AbortController();
  constructor(
    private readonly url: string | URL,
    private readonly connectMs: number,
    private readonly idleMs: number,
    totalMs?: number,
  ) {
    this.arm("connect");
    if (totalMs !== undefined) {
      this.total = setTimeout(() => this.controller.abort(timeoutError(this.url, "total", totalMs)), totalMs);
      this.total.unref?.();
    }
  }
  private arm(phase: "connect" | "idle"): void {
    clearTimeout(this.timer);
    const ms = phase === "connect" ? this.connectMs : this.idleMs;
    this.timer = setTimeout(() => this.controller.abort(timeoutError(this.url, phase, ms)), ms);
    this.timer.unref?.();
  }
  /** Headers arrived or a chunk arrived: the idle deadline starts again. */
  kick(): void {
    this.arm("idle");
  }
  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.total);
  }
  /** The TIMEOUT this watchdog raised, if it fired. */
  get fired(): BootstreamError | undefined {
    const reason: unknown = this.controller.signal.reason;
    return this.controller.signal.aborted && reason instanceof BootstreamError ? reason : undefined;
  }
}

/** Reads a web stream body up to `max` bytes, kicking `watchdog` on every chunk. */
async function readBody(
  body: ReadableStream<Uint8Array> | null,
  url: string,
  max: number,
  watchdog: Watchdog,
): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      watchdog.kick();
      size += value.byteLength;
      if (size > max) throw tooLargeError(url, max);
      parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } catch (error) {
    // Close the connection: a peer past the cap would otherwise keep sending into it.
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(parts, size);
}

/**
 * One request, its whole (capped) body read. Network failures are IO naming the host,
 * deadlines are TIMEOUT, bodies over `maxBytes` are TOO_LARGE; HTTP statuses are the
 * caller's to judge.
 */
export async function httpRequest(url: string | URL, options: HttpRequestOptions): Promise<HttpReply> {
  const href = String(url);
  const watchdog = new Watchdog(
    href,
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS,
  );
  const signal = options.signal
    ? AbortSignal.any([options.signal, watchdog.controller.signal])
    : watchdog.controller.signal;
  try {
    let response: Response;
    try {
      response = await fetch(href, {
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body }),
        redirect: options.redirect ?? "follow",
        signal,
      });
    } catch (cause) {
      throw (
        watchdog.fired ??
        (options.signal?.aborted
          ? options.signal.reason
          : new BootstreamError("IO", `cannot reach ${hostOf(href)}: ${networkReason(cause)} (${href})`, {
              path: href,
              cause,
            }))
      );
    }
    watchdog.kick();
    const announced = Number(response.headers.get("content-length") ?? Number.NaN);
    if (announced > options.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw tooLargeError(href, options.maxBytes);
    }
    let body: Buffer;
    try {
      body = await readBody(response.body, href, options.maxBytes, watchdog);
    } catch (cause) {
      if (cause instanceof BootstreamError) throw cause;
      throw (
        watchdog.fired ??
        (options.signal?.aborted
          ? options.signal.reason
          : new BootstreamError(
              "IO",
              `${hostOf(href)} broke off the response: ${networkReason(cause)} (${href})`,
              {
                path: href,
                cause,
              },
            ))
      );
    }
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: response.url || href,
      body,
    };
  } finally {
    watchdog.stop();
  }
}
