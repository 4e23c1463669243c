/**
 * The bytes of a URL from an offset on, surviving dropped connections and server errors:
 * each retry asks for the rest with an HTTP Range request (or, from a server that ignores
 * Range, skips what was already received), with exponential backoff.
 *
 * The peer may be hostile, so every attempt has a connect and an idle deadline (a stalled
 * peer is a TIMEOUT naming the host), and every response must be exactly what was asked:
 * a 206 has to start at the requested byte, no response may carry more bytes than it
 * announced, and the file may not change size between attempts. A response that breaks
 * the first rule is re-requested without Range; one that breaks the others cannot be
 * mended from here, and ends with TransferRestart so the caller starts over from byte 0.
 *
 * Uses node:http(s) rather than fetch: for multi-gigabyte bodies fetch's web streams keep
 * noticeably more memory alive (measured: ~100 MB vs ~85 MB RSS for a bare 200 MB read).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BootstreamError } from "../errors.ts";
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  type Deadlines,
  hostOf,
  Watchdog,
} from "../net/http.ts";

const MAX_REDIRECTS = 10;

/** The bytes already passed on cannot be continued: the caller must start again from 0. */
export class TransferRestart extends Error {
  override readonly name = "TransferRestart";
}

function ioError(url: string, reason: string): BootstreamError {
  return new BootstreamError("IO", `cannot download ${url}: ${reason}`, { path: url });
}

/** GET with optional Range, following redirects to http(s) only; resolves with the final response. */
function get(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  redirects = 0,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request =
      target.protocol === "https:" ? httpsRequest : target.protocol === "http:" ? httpRequest : undefined;
    if (request === undefined) {
      reject(new BootstreamError("USAGE", `cannot download ${url}: only http and https URLs`, { path: url }));
      return;
    }
    const req = request(target, { headers: { "user-agent": "bootstream", ...headers }, signal }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status < 300 || status > 399 || location === undefined) {
        resolve(res);
        return;
      }
      res.resume();
      if (redirects >= MAX_REDIRECTS) {
        reject(ioError(url, `more than ${MAX_REDIRECTS} redirects`));
        return;
      }
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        reject(
          ioError(url, `${hostOf(target)} redirected to an unusable location ${JSON.stringify(location)}`),
        );
        return;
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        reject(ioError(url, `${hostOf(target)} redirected to ${next.protocol} (only http and https)`));
        return;
      }
      get(next.href, headers, signal, redirects + 1).then(resolve, reject);
    });
    req.on("error", reject);
    req.end();
  });
}

export interface HttpSourceOptions extends Deadlines {
  /** Start at this byte (a resumed download). */
  offset?: number;
  /** Attempts after a failure without progress (5xx, reset, timeout). Default 5. */
  retries?: number;
  /** First backoff delay; doubles on each consecutive failure. Default 500 ms. */
  backoffMs?: number;
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

/** `bytes START-END/SIZE` (SIZE may be `*`); undefined when malformed. */
function contentRange(value: string | undefined): { start: number; end: number; size?: number } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]) + 1;
  const size = m[3] === "*" ? undefined : Number(m[3]);
  if (end <= start || (size !== undefined && end > size)) return undefined;
  return size === undefined ? { start, end } : { start, end, size };
}

/** The SIZE of a 416's `bytes *\/SIZE`. */
function unsatisfiedSize(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^bytes \*\/(\d+)$/.exec(value.trim());
  return m ? Number(m[1]) : undefined;
}

/** Yields the bytes of `url` from `options.offset` to the end. */
export async function* httpBytes(url: string, options: HttpSourceOptions = {}): AsyncGenerator<Buffer> {
  let offset = options.offset ?? 0;
  const retries = options.retries ?? 5;
  const backoff = options.backoffMs ?? 500;
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const host = hostOf(url);
  let failures = 0;
  let lastError: BootstreamError = ioError(url, "no attempt made");
  let total: number | undefined;
  // Off once a server answered a Range request with bytes from elsewhere: then only whole
  // responses are asked for, and what is already here is skipped.
  let useRange = true;
  const fail = (error: BootstreamError) => {
    failures++;
    lastError = error;
  };
  while (true) {
    if (failures > retries) {
      throw new BootstreamError(
        lastError.code,
        `${lastError.message} (gave up after ${retries} ${retries === 1 ? "retry" : "retries"})`,
        { path: url, cause: lastError },
      );
    }
    if (failures > 0) await sleep(backoff * 2 ** (failures - 1), options.signal);
    const watchdog = new Watchdog(url, connectMs, idleMs);
    const signal = options.signal
      ? AbortSignal.any([options.signal, watchdog.controller.signal])
      : watchdog.controller.signal;
    const ranged = offset > 0 && useRange;
    let response: IncomingMessage;
    try {
      response = await get(url, ranged ? { range: `bytes=${offset}-` } : {}, signal);
    } catch (error) {
      watchdog.stop();
      if (options.signal?.aborted) throw options.signal.reason;
      if (watchdog.fired) {
        fail(watchdog.fired);
        continue;
      }
      if (error instanceof BootstreamError) throw error;
      fail(ioError(url, (error as NodeJS.ErrnoException).code ?? (error as Error).message));
      continue;
    }
    const status = response.statusCode ?? 0;
    if (status === 416) {
      watchdog.stop();
      response.resume();
      // What we have is the whole file (a complete .part), or more than it: start over.
      const size = unsatisfiedSize(response.headers["content-range"]);
      if (ranged && size === offset) {
        if (total === undefined) options.onTotal?.(size);
        return;
      }
      throw new TransferRestart(
        `${host} has no bytes from ${offset} on${size === undefined ? "" : ` (the file has ${size})`}`,
      );
    }
    if (status === 404 || status === 410) {
      watchdog.stop();
      response.resume();
      throw new BootstreamError("NOT_FOUND", `cannot download ${url}: HTTP ${status} Not Found`, {
        path: url,
      });
    }
    if (status < 200 || status > 299) {
      watchdog.stop();
      response.resume();
      const error = ioError(url, `HTTP ${status} ${response.statusMessage ?? ""}`.trimEnd());
      if (!retryable(status)) throw error;
      fail(error);
      continue;
    }
    // This response carries bytes [from, end) of a file of `size` bytes.
    let from = 0;
    let end: number | undefined;
    let size: number | undefined;
    if (status === 206) {
      const range = contentRange(response.headers["content-range"]);
      const asked = ranged ? offset : 0;
      if (range === undefined || range.start !== asked) {
        watchdog.stop();
        response.destroy();
        useRange = false;
        fail(
          ioError(
            url,
            `${host} answered a request for bytes ${asked}- with ${JSON.stringify(response.headers["content-range"] ?? "no Content-Range")}`,
          ),
        );
        continue;
      }
      from = range.start;
      end = range.end;
      size = range.size;
    } else {
      const length = Number(response.headers["content-length"] ?? Number.NaN);
      if (Number.isSafeInteger(length) && length >= 0) {
        end = length;
        size = length;
      }
    }
    if (size !== undefined) {
      if (total === undefined) {
        total = size;
        options.onTotal?.(size);
      } else if (size !== total) {
        watchdog.stop();
        response.destroy();
        throw new TransferRestart(`${host} now has ${size} bytes for it, not ${total}`);
      }
    }
    end ??= total;
    if (end !== undefined && end < offset) {
      watchdog.stop();
      response.destroy();
      throw new TransferRestart(
        `${host} sent a file of ${end} bytes, shorter than the ${offset} already here`,
      );
    }
    // A server that ignores Range starts from byte 0: skip what we already have.
    let skip = offset - from;
    let position = from;
    watchdog.kick();
    try {
      for await (const raw of response) {
        watchdog.kick();
        let chunk = raw as Buffer;
        position += chunk.length;
        // Never pass on a byte past what the response announced: it is not the file.
        if (end !== undefined && position > end) {
          throw new TransferRestart(`${host} sent more than the ${end - from} bytes it announced`);
        }
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
      watchdog.stop();
      if (end !== undefined && position < end) {
        fail(ioError(url, `connection closed after ${position} of ${end} bytes`));
        continue;
      }
      // A 206 may cover only part of the rest: ask for the next part.
      if (total !== undefined && offset < total) continue;
      return;
    } catch (error) {
      if (error instanceof TransferRestart) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof BootstreamError) throw error;
      fail(watchdog.fired ?? ioError(url, (error as NodeJS.ErrnoException).code ?? (error as Error).message));
    } finally {
      // Also when the consumer stops early: no timer and no socket outlive the attempt.
      watchdog.stop();
      if (!response.readableEnded) response.destroy();
    }
  }
}
