/**
 * Starting and stopping the HTTP server: the store check and the cache directory at start,
 * listen, node:http's own timeouts (a slow client cannot hold a socket forever), the store
 * heartbeat, and a graceful close that lets in-flight requests finish and writes the cache
 * directory out.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BootstreamError } from "../errors.ts";
import { withDeadline } from "../storage/deadline.ts";
import type { Store } from "../storage/store.ts";
import { CacheDir, type LoadedObject } from "./cache-dir.ts";
import type { Logger } from "./log.ts";
import { type ServeOptions, StreamServer } from "./server.ts";

export interface RunningServer {
  url: string;
  server: Server;
  streamServer: StreamServer;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(
  options: ServeOptions & { host?: string; port?: number },
): Promise<RunningServer> {
  const streamServer = new StreamServer(options);
  await streamServer.start();
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    streamServer.handle,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new BootstreamError(
          "IO",
          `cannot listen on ${options.host ?? "127.0.0.1"}:${options.port ?? 8080}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    streamServer,
    async close(graceMs = 10_000) {
      streamServer.stop();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await options.cacheDir?.cache.close();
    },
  };
}

/** Opens --cache-dir, logging what could not be used (never fatal: the store has the truth). */
export async function openCacheDir(
  dir: string,
  logger: Logger,
): Promise<{ cache: CacheDir; objects: LoadedObject[] }> {
  const { cache, load } = await CacheDir.open(dir, (error) =>
    logger.log("error", "cache directory write failed", { error: error.message }),
  );
  for (const why of load.dropped) logger.log("warn", "cache directory entry dropped", { why });
  logger.log("info", "cache directory loaded", { objects: load.objects.length });
  return { cache, objects: load.objects };
}

/**
 * Serving a store that is not there would answer 404 to everything and report healthy, so a
 * store that fails its check is an error; except when --cache-dir holds verified objects: a
 * replica restarted during a store outage then starts degraded and serves them.
 */
export async function checkStoreAtStart(
  store: Store,
  timeoutSeconds: number,
  cached: number,
  logger: Logger,
): Promise<void> {
  try {
    await withDeadline(store, { readMs: timeoutSeconds * 1000, writeMs: timeoutSeconds * 1000 }).check();
  } catch (error) {
    if (cached === 0) throw error;
    logger.log("warn", "store unavailable at start; serving the cache directory", {
      error: (error as Error).message,
      objects: cached,
    });
  }
}
