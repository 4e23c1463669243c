/**
 * The bytes of a URL from an offset on, surviving dropped connections and server errors:
 * each retry asks for the rest with an HTTP Range request (or, from a server that ignores
 * Range, skips what was already received), with exponential backoff.
 *
 * Uses node:http(s) rather than fetch: for multi-gigabyte bodies fetch's web streams keep
 * noticeably more memory alive (measured: ~100 MB vs ~85 MB RSS for a bare 200 MB read).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BootstreamError } from "../errors.ts";

const MAX_REDIRECTS = 10;

/** GET with optional Range, following redirects; resolves with the final response. */
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
      reject(new BootstreamError("USAGE", `cannot download ${url}: only http and https URLs`));
      return;
    }
    const req = request(target, { headers: { "user-agent": "bootstream", ...headers }, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new BootstreamError("IO", `cannot download ${url}: more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        resolve(get(new URL(res.headers.location, target).href, headers, signal, redirects + 1));
        return;
      }
      resolve(res);
    });
    req.on("error", reject);
    req.end();
  });
}

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

function totalFrom(response: IncomingMessage, offset: number): number | undefined {
  const range = response.headers["content-range"];
  const m = range ? /\/(\d+)\s*$/.exec(range) : null;
  if (m) return Number(m[1]);
  const length = Number(response.headers["content-length"] ?? Number.NaN);
  if (!Number.isFinite(length)) return undefined;
  return response.statusCode === 206 ? offset + length : length;
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
    let response: IncomingMessage;
    try {
      arm();
      response = await get(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, signal);
    } catch (error) {
      clearTimeout(idle);
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof BootstreamError) throw error;
      failures++;
      lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      continue;
    }
    const status = response.statusCode ?? 0;
    if (status === 416 && total !== undefined && offset >= total) {
      clearTimeout(idle);
      response.resume();
      return;
    }
    if (status === 404) {
      clearTimeout(idle);
      response.resume();
      throw new BootstreamError("NOT_FOUND", `cannot download ${url}: HTTP 404 Not Found`, { path: url });
    }
    if (status < 200 || status > 299) {
      clearTimeout(idle);
      response.resume();
      lastError = `HTTP ${status}`;
      if (retryable(status)) {
        failures++;
        continue;
      }
      throw new BootstreamError(
        "IO",
        `cannot download ${url}: HTTP ${status} ${response.statusMessage ?? ""}`.trimEnd(),
        { path: url },
      );
    }
    // A server that ignores Range starts from byte 0: skip what we already have.
    let skip = offset > 0 && status === 200 ? offset : 0;
    if (total === undefined) {
      total = totalFrom(response, status === 206 ? offset : 0);
      if (total !== undefined) options.onTotal?.(total);
    }
    try {
      for await (const raw of response) {
        arm();
        let chunk = raw as Buffer;
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
      response.destroy();
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof BootstreamError) throw error;
      failures++;
      lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
  }
}
