/**
 * `bootstream serve`: the published store over HTTP. Built on node:http with a small route
 * table (no framework: a bare handler already reaches most of nginx's rate for these small
 * files, and every layer added costs requests per second; see bench/serve.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { BootstreamError, toBootstreamError } from "../errors.ts";
import { parseHistory } from "../publish/history.ts";
import { historyKey, pointerKey } from "../publish/layout.ts";
import type { PublishOptions } from "../publish/publish.ts";
import { isStreamName } from "../schema/names.ts";
import { checkDocument } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import type { Store } from "../storage/store.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import {
  type Encoding,
  encodedBody,
  MIN_COMPRESS_BYTES,
  negotiateEncoding,
  ObjectCache,
  type ServedObject,
  UNKNOWN,
} from "./objects.ts";
import { type PageHistoryEntry, renderIndexPage, renderStreamPage, type StreamSummary } from "./page.ts";
import { handlePublish, type PublishApiOptions } from "./publish-api.ts";
import { type Reply, sendError, sendJson, sendText } from "./respond.ts";
import { allowedMethods, type FileClass, matchRead, matchWrite, type Route, routeLabel } from "./routes.ts";

export interface ServeOptions {
  store: Store;
  logger: Logger;
  /** How stale a cached object may be before it is checked against the store again. */
  revalidateMs?: number;
  /** Bearer tokens accepted by the publish API; none disables publishing. */
  tokens?: readonly string[];
  publish?: Pick<PublishOptions, "policy" | "signer" | "signerKeys" | "retries">;
  maxBodyBytes?: number;
  bodyTimeoutMs?: number;
}

type FileRoute = Extract<Route, { kind: "file" }>;

const CACHE_CONTROL: Record<FileClass, string> = {
  pointer: "public, max-age=60",
  history: "public, max-age=60",
  pinned: "public, max-age=31536000, immutable",
};

const MAX_URL_LENGTH = 4096;

/** Whether an If-None-Match header names this version (any of its encodings). */
function matchesEtag(header: string, object: ServedObject): boolean {
  if (header.trim() === "*") return true;
  for (const raw of header.split(",")) {
    const tag = raw.trim().replace(/^W\//, "");
    if (tag === object.etag || tag === `"${object.sha256}-gzip"` || tag === `"${object.sha256}-br"`)
      return true;
  }
  return false;
}

export class StreamServer {
  readonly metrics = new Metrics();
  private readonly cache: ObjectCache;
  private readonly parsedStreams = new WeakMap<ServedObject, Stream | null>();
  private readonly parsedHistory = new WeakMap<ServedObject, PageHistoryEntry[]>();
  private readonly pages = new WeakMap<ServedObject, { historyEtag: string; html: string }>();
  private listing: { at: number; value: Promise<StreamSummary[]> } | undefined;

  /** Server paths no client may see (the store's location, as given and resolved). */
  private readonly hide: readonly string[];

  constructor(private readonly options: ServeOptions) {
    this.cache = new ObjectCache(options.store, options.revalidateMs ?? 500);
    const { location } = options.store;
    this.hide = location.startsWith("s3://") ? [location] : [...new Set([resolve(location), location])];
  }

  /** Answers an error; a server-side one goes to the log in full, to the client as its code only. */
  private fail(req: IncomingMessage, res: ServerResponse, error: BootstreamError, head = false): Reply {
    if (error.httpStatus >= 500) this.logFailure(req, error);
    return sendError(res, error, head, {}, this.hide);
  }

  private logFailure(req: IncomingMessage, error: BootstreamError): void {
    this.options.logger.log("error", "request failed", {
      url: (req.url ?? "").slice(0, 256),
      code: error.code,
      error: error.message,
    });
  }

  private readonly routes = new Map<string, Route>();

  /** matchRead, remembered for paths that matched (bounded, so odd paths cannot grow it). */
  private routeOf(path: string): Route | undefined {
    let route = this.routes.get(path);
    if (route === undefined) {
      route = matchRead(path);
      if (route !== undefined && this.routes.size < 10_000) this.routes.set(path, route);
    }
    return route;
  }

  /** The request handler, for node:http. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    let route: Route | undefined;
    const finish = (reply: Reply) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const label = routeLabel(route);
      this.metrics.observe(label, req.method ?? "", reply.status, reply.bytes, seconds);
      const { logger } = this.options;
      if (logger.enabled("info")) {
        logger.log("info", "request", {
          method: req.method,
          url: (req.url ?? "").slice(0, 256),
          route: label,
          status: reply.status,
          bytes: reply.bytes,
          ms: Math.round(seconds * 1e5) / 100,
          remote: req.socket.remoteAddress,
        });
      }
    };
    // Fast path: a fresh cached file answers synchronously, without promises.
    const method = req.method;
    if (method === "GET" || method === "HEAD") {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const fast = this.routeOf(q === -1 ? url : url.slice(0, q));
      if (fast?.kind === "file") {
        const reply = this.tryFastFile(req, res, fast, method === "HEAD");
        if (reply !== undefined) {
          route = fast;
          finish(reply);
          return;
        }
      }
    }
    this.dispatch(req, res, (r) => {
      route = r;
    }).then(finish, (error: unknown) => {
      const e = toBootstreamError(error);
      if (!res.headersSent) finish(this.fail(req, res, e));
      else {
        this.logFailure(req, e);
        res.destroy();
        finish({ status: 500, bytes: 0 });
      }
    });
  };

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    setRoute: (r: Route) => void,
  ): Promise<Reply> {
    let url = req.url ?? "/";
    if (url.length > MAX_URL_LENGTH) return this.tooLong(res);
    if (!url.startsWith("/")) {
      // Absolute form (RFC 9112 3.2.2, what a client talking to a proxy sends): serve the
      // path it names; the host is not ours to act on. Anything else (`*`, garbage) is 400.
      const path = absoluteFormPath(url);
      if (path === undefined) {
        res.setHeader("connection", "close");
        return this.fail(req, res, new BootstreamError("USAGE", "the request target must be a path"));
      }
      url = path;
    }
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    const head = method === "HEAD";
    if (method === "GET" || head) {
      const route = this.routeOf(path);
      if (route === undefined)
        return this.fail(
          req,
          res,
          new BootstreamError("NOT_FOUND", `nothing at ${path.slice(0, 200)}`),
          head,
        );
      setRoute(route);
      return this.read(req, res, route, head);
    }
    const write = matchWrite(method, path);
    if (write !== undefined) {
      setRoute(write);
      return handlePublish(req, res, write, this.publishApi(req), new URL(url, "http://x").searchParams);
    }
    const allowed = allowedMethods(path);
    if (allowed.length === 0)
      return this.fail(req, res, new BootstreamError("NOT_FOUND", `nothing at ${path.slice(0, 200)}`));
    return sendJson(
      res,
      405,
      { error: { code: "USAGE", message: `${method} is not allowed here; use ${allowed.join(", ")}` } },
      false,
      {
        allow: allowed.join(", "),
      },
    );
  }

  private tooLong(res: ServerResponse): Reply {
    return sendJson(
      res,
      414,
      { error: { code: "USAGE", message: `request URL longer than ${MAX_URL_LENGTH} characters` } },
      false,
    );
  }

  private publishApi(req: IncomingMessage): PublishApiOptions {
    return {
      store: this.options.store,
      hide: this.hide,
      logFailure: (error) => this.logFailure(req, error),
      tokens: this.options.tokens ?? [],
      publish: this.options.publish ?? {},
      maxBodyBytes: this.options.maxBodyBytes ?? 16 * 1024 * 1024,
      bodyTimeoutMs: this.options.bodyTimeoutMs ?? 15_000,
      invalidate: (name) => {
        for (const key of [
          pointerKey(name),
          `${pointerKey(name)}.asc`,
          historyKey(name),
          `${historyKey(name)}.asc`,
        ])
          this.cache.invalidate(key);
        this.listing = undefined;
      },
    };
  }

  private async read(req: IncomingMessage, res: ServerResponse, route: Route, head: boolean): Promise<Reply> {
    switch (route.kind) {
      case "file":
        return this.sendFile(req, res, route, head);
      case "health":
        return this.health(req, res, head);
      case "metrics":
        return sendText(res, 200, "text/plain; version=0.0.4; charset=utf-8", this.metrics.render(), head);
      case "stream-list":
        return sendJson(res, 200, { streams: await this.streams() }, head, {
          "cache-control": "public, max-age=10",
        });
      case "index-page":
        return sendText(res, 200, "text/html; charset=utf-8", renderIndexPage(await this.streams()), head);
      case "stream-page":
        return this.streamPage(req, res, route.name, head);
      default:
        return this.fail(req, res, new BootstreamError("NOT_FOUND", "no such route"), head);
    }
  }

  /** Writes a cached file synchronously; undefined when an encoding is not made yet. */
  private writeFile(
    req: IncomingMessage,
    res: ServerResponse,
    route: FileRoute,
    object: ServedObject,
    head: boolean,
  ): Reply | undefined {
    const inm = req.headers["if-none-match"];
    const ims = inm === undefined ? req.headers["if-modified-since"] : undefined;
    const notModified =
      inm !== undefined
        ? matchesEtag(inm, object)
        : ims !== undefined && Date.parse(ims) >= object.lastModifiedMs;
    const encoding = route.signature ? "identity" : negotiateEncoding(req.headers["accept-encoding"]);
    let body = object.body;
    let actual: Encoding = "identity";
    if (encoding !== "identity" && object.body.byteLength >= MIN_COMPRESS_BYTES) {
      const encoded = object.ready[encoding];
      if (encoded === undefined) return undefined;
      body = encoded;
      actual = encoding;
    }
    const status = notModified ? 304 : 200;
    const key = `${route.class}|${route.signature}|${actual}|${status}`;
    let headers = object.variants.get(key);
    if (headers === undefined) {
      headers = this.fileHeaders(route, object, actual, status, body.byteLength);
      object.variants.set(key, headers);
    }
    res.writeHead(status, headers);
    if (status === 304 || head) {
      res.end();
      return { status, bytes: 0 };
    }
    res.end(body);
    return { status, bytes: body.byteLength };
  }

  private fileHeaders(
    route: FileRoute,
    object: ServedObject,
    encoding: Encoding,
    status: number,
    length: number,
  ): Record<string, string | number> {
    const headers: Record<string, string | number> = {};
    if (status === 200)
      headers["content-type"] = route.signature ? "application/pgp-signature" : "application/json";
    headers["cache-control"] =
      route.signature && route.class === "pointer" ? "public, max-age=60" : CACHE_CONTROL[route.class];
    headers["last-modified"] = object.lastModified;
    headers.etag = encoding === "identity" ? object.etag : `"${object.sha256}-${encoding}"`;
    if (!route.signature) headers.vary = "Accept-Encoding";
    // Names the pinned copy these bytes equal, so a client can fetch its .asc without racing a publish.
    if (route.class === "pointer" && object.pinnedId !== undefined) {
      headers["content-location"] =
        `/streams/${route.name}/${object.pinnedId}.json${route.signature ? ".asc" : ""}`;
    }
    headers["x-content-type-options"] = "nosniff";
    if (status === 200) {
      if (encoding !== "identity") headers["content-encoding"] = encoding;
      headers["content-length"] = length;
    }
    return headers;
  }

  /** The synchronous path for files that are cached, fresh and fully prepared. */
  tryFastFile(req: IncomingMessage, res: ServerResponse, route: FileRoute, head: boolean): Reply | undefined {
    const object = this.cache.peek(route.key);
    if (object === UNKNOWN || object === undefined) return undefined;
    if (route.class === "pointer" && object.pinnedId === undefined) return undefined;
    return this.writeFile(req, res, route, object, head);
  }

  private async sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    route: FileRoute,
    head: boolean,
  ): Promise<Reply> {
    const object = await this.cache.get(route.key);
    if (object === undefined)
      return this.fail(req, res, new BootstreamError("NOT_FOUND", `no ${route.key}`), head);
    if (route.class === "pointer" && object.pinnedId === undefined) {
      const id = await this.pinnedIdOf(route.name, object);
      if (id !== undefined) object.pinnedId = id;
    }
    const encoding = route.signature ? "identity" : negotiateEncoding(req.headers["accept-encoding"]);
    if (encoding !== "identity") await encodedBody(object, encoding);
    const reply = this.writeFile(req, res, route, object, head);
    if (reply === undefined) throw new BootstreamError("IO", `could not encode ${route.key} as ${encoding}`);
    return reply;
  }

  private async historyEntries(
    name: string,
  ): Promise<{ object: ServedObject | undefined; entries: PageHistoryEntry[] }> {
    const object = await this.cache.get(historyKey(name));
    if (object === undefined) return { object, entries: [] };
    let entries = this.parsedHistory.get(object);
    if (entries === undefined) {
      try {
        entries = parseHistory(object.body, historyKey(name)).entries;
      } catch (error) {
        // The page and Content-Location go without history; the operator learns why.
        this.options.logger.log("error", "unreadable history", { error: toBootstreamError(error).message });
        entries = [];
      }
      this.parsedHistory.set(object, entries);
    }
    return { object, entries };
  }

  private async pinnedIdOf(name: string, pointer: ServedObject): Promise<string | undefined> {
    const { entries } = await this.historyEntries(name);
    return entries.find((e) => e.sha256 === pointer.sha256)?.id;
  }

  private streamOf(object: ServedObject): Stream | undefined {
    let stream = this.parsedStreams.get(object);
    if (stream === undefined) {
      const check = checkDocument(object.body, { kind: "stream" });
      stream = check.issues.length === 0 ? (check.data as Stream) : null;
      this.parsedStreams.set(object, stream);
    }
    return stream ?? undefined;
  }

  private async streamPage(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    head: boolean,
  ): Promise<Reply> {
    const pointer = await this.cache.get(pointerKey(name));
    const stream = pointer ? this.streamOf(pointer) : undefined;
    if (pointer === undefined || stream === undefined)
      return this.fail(req, res, new BootstreamError("NOT_FOUND", `no stream ${name}`), head);
    const history = await this.historyEntries(name);
    const historyEtag = history.object?.etag ?? "";
    let page = this.pages.get(pointer);
    if (page === undefined || page.historyEtag !== historyEtag) {
      const signed = (await this.cache.get(`${pointerKey(name)}.asc`)) !== undefined;
      page = { historyEtag, html: renderStreamPage(name, stream, history.entries, signed) };
      this.pages.set(pointer, page);
    }
    return sendText(res, 200, "text/html; charset=utf-8", page.html, head);
  }

  /** Every stream in the store, listed at most once per revalidation interval. */
  private streams(): Promise<StreamSummary[]> {
    const now = Date.now();
    if (this.listing && now - this.listing.at < (this.options.revalidateMs ?? 500)) return this.listing.value;
    const value = (async () => {
      const keys = await this.options.store.list("streams/");
      const names = keys
        .map((k) => /^streams\/([^/]+)\.json$/.exec(k)?.[1])
        .filter((n): n is string => n !== undefined && isStreamName(n));
      const out: StreamSummary[] = [];
      for (const name of names) {
        const pointer = await this.cache.get(pointerKey(name));
        const stream = pointer ? this.streamOf(pointer) : undefined;
        if (stream === undefined) continue;
        const releases: Record<string, string> = {};
        for (const [arch, entry] of Object.entries(stream.architectures)) {
          releases[arch] = [...new Set(Object.values(entry.artifacts).map((p) => p.release))].join(",");
        }
        out.push({ name, lastModified: stream.metadata["last-modified"], releases });
      }
      return out;
    })();
    this.listing = { at: now, value };
    value.catch(() => {
      this.listing = undefined;
    });
    return value;
  }

  /** Healthy only while the store itself answers (a vanished store is not an empty one). */
  private async health(req: IncomingMessage, res: ServerResponse, head: boolean): Promise<Reply> {
    try {
      await this.options.store.check();
      await this.streams();
      return sendJson(res, 200, { status: "ok" }, head);
    } catch (error) {
      const e = toBootstreamError(error);
      this.logFailure(req, e);
      const code = e.httpStatus >= 500 ? e.code : "IO";
      return sendJson(
        res,
        503,
        { status: "unavailable", error: { code, message: "the store is unavailable" } },
        head,
      );
    }
  }
}

/** The path (and query) of an absolute-form request target, or undefined if it is none. */
function absoluteFormPath(target: string): string | undefined {
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

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
    close(graceMs = 10_000) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
