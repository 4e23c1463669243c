/**
 * The bytes of a URL from an offset on, surviving dropped connections and server errors:
 * each retry asks for the rest with an HTTP Range request (or, from a server that ignores
 * Range, skips what was already received), with exponential backoff.
 */
import { BootstreamError } from "../errors.ts";

export interface HttpSourceOptions {
  /** Start at this byte (a resumed download). */
  offset?: number;
  /** Attempts after a failure without progress (5xx, reset, timeout). Default 5. */
  retries?: number;
  /** First backoff delay; doubles on each consecutive failure. Default 500 ms. */
  backoffMs?: number;
  /** Abort a response that sends nothing for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Called once the total size is known. */
  onTotal?: (bytes: number) => void;
  signal?: AbortSignal;
}

function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function totalFrom(response: Response, offset: number): number | undefined {
  const range = response.headers.get("content-range");
  const m = range ? /\/(\d+)\s*$/.exec(range) : null;
  if (m) return Number(m[1]);
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  if (!Number.isFinite(length)) return undefined;
  return response.status === 206 ? offset + length : length;
}

/** Yields the bytes of `url` from `options.offset` to the end. */
export async function* httpBytes(url: string, options: HttpSourceOptions = {}): AsyncGenerator<Buffer> {
  let offset = options.offset ?? 0;
  const retries = options.retries ?? 5;
  const backoff = options.backoffMs ?? 500;
  let failures = 0;
  let lastError = "";
  let total: number | undefined;
  while (true) {
    if (failures > retries) {
      throw new BootstreamError(
        "IO",
        `cannot download ${url}: ${lastError} (gave up after ${retries} retries)`,
        { path: url },
      );
    }
    if (failures > 0) await sleep(backoff * 2 ** (failures - 1), options.signal);
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => controller.abort(new Error("no data received in time")),
        options.idleTimeoutMs ?? 60_000,
      );
    };
    let response: Response;
    try {
      arm();
      response = await fetch(url, {
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        redirect: "follow",
        signal,
      });
    } catch (error) {
      clearTimeout(idle);
      if (options.signal?.aborted) throw options.signal.reason;
      failures++;
      lastError = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      continue;
    }
    if (response.status === 416 && total !== undefined && offset >= total) {
      clearTimeout(idle);
      return;
    }
    if (response.status === 404) {
      clearTimeout(idle);
      await response.body?.cancel();
      throw new BootstreamError("NOT_FOUND", `cannot download ${url}: HTTP 404 Not Found`, { path: url });
    }
    if (!response.ok) {
      clearTimeout(idle);
      await response.body?.cancel();
      lastError = `HTTP ${response.status}`;
      if (retryable(response.status)) {
        failures++;
        continue;
      }
      throw new BootstreamError(
        "IO",
        `cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd(),
        { path: url },
      );
    }
    // A server that ignores Range starts from byte 0: skip what we already have.
    let skip = offset > 0 && response.status === 200 ? offset : 0;
    if (total === undefined) {
      total = totalFrom(response, response.status === 206 ? offset : 0);
      if (total !== undefined) options.onTotal?.(total);
    }
    try {
      if (response.body === null) throw new Error("empty response body");
      for await (const raw of response.body) {
        arm();
        let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        offset += chunk.length;
        failures = 0; // progress resets the retry budget
        yield chunk;
      }
      clearTimeout(idle);
      if (total !== undefined && offset < total)
        throw new Error(`connection closed after ${offset} of ${total} bytes`);
      return;
    } catch (error) {
      clearTimeout(idle);
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof BootstreamError) throw error;
      failures++;
      lastError = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    }
  }
}
