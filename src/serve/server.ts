/**
 * `bootstream serve`: the published store over HTTP, as a production origin. The route
 * table (routes.ts) maps requests to the handlers here; handlers return replies as data
 * (respond.ts), errors included, so one function writes every answer. What is served comes
 * from the catalog (catalog.ts): the last verified version of each object, which keeps
 * answering when the store fails or hangs (every store call has a deadline).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import { BootstreamError, toBootstreamError } from "../errors.ts";
import { type HistoryEntry, parseHistory } from "../publish/history.ts";
import { historyKey, pointerKey, signatureKey } from "../publish/layout.ts";
import type { PublishOptions } from "../publish/publish.ts";
import { releasesByArchitecture } from "../query/releases.ts";
import { isStreamName } from "../schema/names.ts";
import type { Stream } from "../schema/stream.ts";
import { withDeadline } from "../storage/deadline.ts";
import type { Store } from "../storage/store.ts";
import type { CacheDir, LoadedObject } from "./cache-dir.ts";
import { Catalog, type Found } from "./catalog.ts";
import { cacheControlPolicy, encodingFor, fileReply } from "./conditional.ts";
import { readiness, StoreHealth } from "./health.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { encodedBody, type ServedObject } from "./objects.ts";
import { renderIndexPage, renderStreamPage, type StreamSummary } from "./page.ts";
import { handlePublish } from "./publish-api.ts";
import {
  type ErrorContext,
  errorReply,
  type HttpReply,
  jsonReply,
  textReply,
  writeReply,
} from "./respond.ts";
import { type FastHandler, type Handler, type Match, type RouteRequest, Router } from "./router.ts";
import { acceptParams, type FileClass, type FileTarget, fileTarget, routeTable } from "./routes.ts";
import { isImmutableKey, objectKind, verifyObject } from "./verify.ts";

export interface ServeOptions {
  store: Store;
  logger: Logger;
  /** How stale a mutable object (pointer, history) may be before it is checked against the store again. */
  revalidateMs?: number;
  /** Deadline of every store read; a write gets five times as long. Default 2000. */
  storeTimeoutMs?: number;
  /** max-age of the pointer and history answers, in seconds. Default 60. */
  pointerMaxAgeSeconds?: number;
  /** Verified objects persisted across restarts (serve --cache-dir), already loaded. */
  cacheDir?: { cache: CacheDir; objects: Parameters<Catalog["seed"]>[0] };
  /** Bearer tokens accepted by the publish API; none disables publishing. */
  tokens?: readonly string[];
  publish?: Pick<PublishOptions, "policy" | "signer" | "signerKeys" | "retries">;
  maxBodyBytes?: number;
  bodyTimeoutMs?: number;
}

export const DEFAULT_STORE_TIMEOUT_MS = 2_000;
const MAX_URL_LENGTH = 4096;
const SLASH = 47; // "/"

export class StreamServer {
  readonly metrics = new Metrics();
  readonly health: StoreHealth;
  /** Whether every request gets a log line (decided once: the level does not change). */
  private readonly logRequests: boolean;
  /** The store with a deadline on every call, observed for metrics and readiness. */
  readonly store: Store;
  private readonly catalog: Catalog;
  private readonly router: Router;
  private readonly cacheControl: Record<FileClass, string>;
  private readonly revalidateMs: number;
  private readonly targets = new WeakMap<Readonly<Record<string, string>>, FileTarget>();
  private readonly parsedHistory = new WeakMap<ServedObject, HistoryEntry[]>();
  private readonly pages = new WeakMap<ServedObject, { historyEtag: string; html: string }>();
  private listing: { at: number; value: Promise<StreamSummary[]> } | undefined;
  private lastListing: StreamSummary[] | undefined;

  /** Server paths no client may see (the store's location, as given and resolved). */
  private readonly hide: readonly string[];

  constructor(private readonly options: ServeOptions) {
    const timeout = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.logRequests = options.logger.enabled("info");
    this.health = new StoreHealth((up, error) =>
      up
        ? options.logger.log("warn", "store answers again", {})
        : options.logger.log("error", "store unavailable; serving what was verified", {
            code: error?.code,
            error: error?.message,
          }),
    );
    this.revalidateMs = options.revalidateMs ?? 500;
    this.store = withDeadline(options.store, {
      readMs: timeout,
      writeMs: timeout * 5,
      observe: (op, seconds, error) => {
        this.metrics.observeStore(op, seconds, error?.code.toLowerCase());
        // The store is down when its check fails or any call misses its deadline; a failed
        // read of one key (a link, damage) or a refused write (CONFLICT) is the store answering.
        if (op === "check" || error?.code === "TIMEOUT") this.health.record(error);
        if (error && error.httpStatus >= 500)
          options.logger.log("debug", "store call failed", { op, code: error.code, error: error.message });
      },
    });
    this.catalog = new Catalog({
      store: this.store,
      revalidateMs: this.revalidateMs,
      waitMs: timeout,
      immutable: isImmutableKey,
      storeUp: () => this.health.up,
      verify: (key, body, sha256) =>
        verifyObject(
          key,
          body,
          sha256,
          async (name) => (await this.historyEntries(name).catch(() => undefined))?.entries,
        ),
      onDamaged: (key, error) => {
        this.metrics.damagedObject(objectKind(key));
        options.logger.log("error", "damaged object in the store, not served", { key, error: error.message });
      },
      ...(options.cacheDir ? { cacheDir: options.cacheDir.cache } : {}),
    });
    this.cacheControl = cacheControlPolicy(options.pointerMaxAgeSeconds ?? 60);
    this.router = new Router(
      routeTable({
        file: (cls, signature) => this.fileHandlers(cls, signature),
        indexPage: async () => htmlReply(renderIndexPage(await this.streams())),
        streamPage: (request) => this.streamPage(request),
        streamList: async () =>
          jsonReply(200, { streams: await this.streams() }, { "cache-control": "public, max-age=10" }),
        livez: () => jsonReply(200, { status: "ok" }),
        readyz: () => this.readyz(),
        metrics: () => textReply(200, "text/plain; version=0.0.4; charset=utf-8", this.renderMetrics()),
        publish: (request) => this.publish(request),
      }),
      acceptParams,
    );
    const { location } = options.store;
    this.hide = location.startsWith("s3://") ? [location] : [...new Set([resolve(location), location])];
  }

  private renderMetrics(): string {
    const { objects, bytes } = this.catalog.stats();
    return this.metrics.render({ cachedObjects: objects, cachedBytes: bytes, storeUp: this.health.up });
  }

  /** Takes in the --cache-dir objects that pass verification, then starts the store heartbeat. */
  async start(): Promise<void> {
    if (this.options.cacheDir) await this.seedFromCacheDir(this.options.cacheDir);
    await this.health.start(this.store, Math.max(1000, this.revalidateMs));
  }

  /**
   * Objects from --cache-dir hash to their names (checked on load), but are served only once
   * they pass the checks bytes from the store pass: the same verification, with history
   * taken from the same cache.
   */
  private async seedFromCacheDir({ cache, objects }: NonNullable<ServeOptions["cacheDir"]>): Promise<void> {
    const histories = new Map<string, HistoryEntry[]>();
    for (const loaded of objects) {
      const m = /^streams\/([^/]+)\/history\.json$/.exec(loaded.key);
      if (m === null) continue;
      try {
        histories.set(m[1] as string, parseHistory(loaded.body, loaded.key).entries);
      } catch {
        // verifyObject below reports it
      }
    }
    const verified: LoadedObject[] = [];
    for (const loaded of objects) {
      try {
        const { listed, stream } = await verifyObject(loaded.key, loaded.body, loaded.sha256, async (name) =>
          histories.get(name),
        );
        // An unlisted copy is read again from the store.
        if (listed) verified.push(stream === undefined ? loaded : { ...loaded, stream });
      } catch (error) {
        this.metrics.damagedObject(objectKind(loaded.key));
        this.options.logger.log("warn", "cache directory entry dropped", {
          why: `${loaded.key}: ${toBootstreamError(error).message}`,
        });
        cache.remove(loaded.key);
      }
    }
    this.catalog.seed(verified);
  }

  stop(): void {
    this.health.stop();
  }

  /** The request handler, for node:http. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const url = req.url ?? "/";
    const method = req.method ?? "GET";
    // Fast path: a plain path whose route answers from memory, with no promise and no
    // allocation beyond the answer (bench/serve.ts holds this against bare node:http).
    if (url.length <= MAX_URL_LENGTH && url.charCodeAt(0) === SLASH && !url.includes("?")) {
      const match = this.router.match(method, url);
      if (match.kind === "route" && match.fast !== undefined) {
        const reply = match.fast(req, match.params, started);
        if (reply !== undefined) {
          const bytes = writeReply(res, reply, method === "HEAD");
          this.observe(req, match.label, reply.status, bytes, started);
          return;
        }
      }
    }
    this.handleSlowly(req, res, url, method, started);
  };

  /** Every other request: parsed in full, answered by its handler (maybe after store calls). */
  private handleSlowly(
    req: IncomingMessage,
    res: ServerResponse,
    url: string,
    method: string,
    started: number,
  ): void {
    let label = "unmatched";
    const finish = (reply: HttpReply, bytes: number) =>
      this.observe(req, label, reply.status, bytes, started);
    const head = method === "HEAD";
    let reply: HttpReply | Promise<HttpReply>;
    try {
      const target = this.requestTarget(url);
      const match = this.router.match(method, target.path);
      if (match.kind !== "route") {
        reply = this.noRoute(req, match, method, target.path);
      } else {
        label = match.label;
        const request: RouteRequest = {
          req,
          path: target.path,
          query: target.query,
          head,
          params: match.params,
          label,
        };
        reply = match.handler(request);
      }
    } catch (error) {
      reply = this.errorAnswer(req, toBootstreamError(error));
    }
    if (!(reply instanceof Promise)) {
      finish(reply, writeReply(res, reply, head));
      return;
    }
    reply
      .catch((error: unknown) => this.errorAnswer(req, toBootstreamError(error)))
      .then((r) => {
        if (res.headersSent) return finish(r, 0);
        finish(r, writeReply(res, r, head));
      });
  }

  private observe(req: IncomingMessage, label: string, status: number, bytes: number, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    this.metrics.observe(label, req.method ?? "", status, bytes, seconds);
    if (this.logRequests) {
      this.options.logger.log("info", "request", {
        method: req.method,
        url: (req.url ?? "").slice(0, 256),
        route: label,
        status,
        bytes,
        ms: Math.round(seconds * 1e5) / 100,
        remote: req.socket.remoteAddress,
      });
    }
  }

  /** Path and query of the request target; absolute form (RFC 9112 3.2.2) is served by its path. */
  private requestTarget(url: string): { path: string; query: URLSearchParams } {
    if (url.length > MAX_URL_LENGTH)
      throw new BootstreamError("URI_TOO_LONG", `request URL longer than ${MAX_URL_LENGTH} characters`);
    let target = url;
    if (!url.startsWith("/")) {
      // What a client talking to a proxy sends; the host is not ours to act on. `*`, garbage: 400.
      const path = absoluteFormPath(url);
      if (path === undefined) throw new BootstreamError("USAGE", "the request target must be a path");
      target = path;
    }
    const q = target.indexOf("?");
    if (q === -1) return { path: target, query: EMPTY_QUERY };
    return { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
  }

  private noRoute(
    req: IncomingMessage,
    match: Exclude<Match, { kind: "route" }>,
    method: string,
    path: string,
  ): HttpReply {
    if (match.kind === "method-not-allowed") {
      const error = new BootstreamError(
        "METHOD_NOT_ALLOWED",
        `${method} is not allowed here; use ${match.allow.join(", ")}`,
      );
      return this.errorAnswer(req, error, { allow: match.allow });
    }
    return this.errorAnswer(req, new BootstreamError("NOT_FOUND", `nothing at ${path.slice(0, 200)}`));
  }

  /** The one way a failure becomes an answer: logged in full when it is the server's, sent as its code. */
  private errorAnswer(req: IncomingMessage, error: BootstreamError, context: ErrorContext = {}): HttpReply {
    if (error.httpStatus >= 500) this.logFailure(req, error);
    const reply = errorReply(error, { ...context, hide: this.hide });
    // A request body left unread must not be parsed as the next request. (`req.complete` is
    // no test: it is false for every request until its end is read, bodies or not.)
    const declaresBody =
      Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    if (declaresBody && !req.readableEnded) {
      reply.headers.connection = "close";
      req.resume();
    }
    if (error.code === "USAGE" && !req.url?.startsWith("/")) reply.headers.connection = "close";
    return reply;
  }

  private logFailure(req: IncomingMessage, error: BootstreamError): void {
    this.options.logger.log("error", "request failed", {
      url: (req.url ?? "").slice(0, 256),
      code: error.code,
      error: error.message,
    });
  }

  private target(cls: FileClass, signature: boolean, params: Readonly<Record<string, string>>): FileTarget {
    let target = this.targets.get(params);
    if (target === undefined) {
      target = fileTarget(cls, signature, params);
      this.targets.set(params, target);
    }
    return target;
  }

  private fileHandlers(cls: FileClass, signature: boolean): readonly [Handler, FastHandler] {
    const fast: FastHandler = (req, params, now) => {
      const target = this.target(cls, signature, params);
      const object = this.catalog.peek(target.key, now);
      if (typeof object !== "object") return undefined;
      if (cls === "pointer" && object.pinnedId === undefined) return undefined;
      return fileReply(req.headers, target, object, this.cacheControl);
    };
    const handler: Handler = async ({ req, params, label }) => {
      const target = this.target(cls, signature, params);
      const found = await this.catalog.get(target.key);
      const object = this.found(found, label, target.key);
      if (cls === "pointer" && object.pinnedId === undefined) await this.namePinnedCopy(target.name, object);
      const encoding = encodingFor(req.headers, target);
      if (encoding !== "identity") await encodedBody(object, encoding);
      const reply = fileReply(req.headers, target, object, this.cacheControl);
      if (reply === undefined)
        throw new BootstreamError("IO", `could not encode ${target.key} as ${encoding}`);
      return reply;
    };
    return [handler, fast];
  }

  /** The object a lookup found, counting a stale answer; NOT_FOUND when the store has none. */
  private found(found: Found, label: string, key: string): ServedObject {
    if (found.object === undefined) throw new BootstreamError("NOT_FOUND", `no ${key}`);
    if (found.stale) this.metrics.staleResponse(label);
    return found.object;
  }

  /** Finds which pinned copy the pointer equals (for Content-Location); history may lag a publish. */
  private async namePinnedCopy(name: string, pointer: ServedObject): Promise<void> {
    const history = await this.historyEntries(name).catch(() => undefined);
    const id = history?.entries.find((e) => e.sha256 === pointer.sha256)?.id;
    if (id === undefined) return;
    pointer.pinnedId = id;
    // Headers built before the id was known lack Content-Location.
    pointer.variants.length = 0;
    this.catalog.persist(pointer);
  }

  private async historyEntries(
    name: string,
  ): Promise<{ object: ServedObject | undefined; entries: HistoryEntry[] }> {
    const { object } = await this.catalog.get(historyKey(name));
    if (object === undefined) return { object, entries: [] };
    let entries = this.parsedHistory.get(object);
    if (entries === undefined) {
      // The catalog verified it parses; parse errors cannot reach here.
      entries = parseHistory(object.body, historyKey(name)).entries;
      this.parsedHistory.set(object, entries);
    }
    return { object, entries };
  }

  /** A pointer's stream, as its verification parsed it (every object is verified before it is held). */
  private streamOf(object: ServedObject): Stream | undefined {
    return object.stream;
  }

  private async streamPage({ params, label }: RouteRequest): Promise<HttpReply> {
    const name = params.name as string;
    const found = await this.catalog.get(pointerKey(name));
    const pointer = found.object;
    const stream = pointer ? this.streamOf(pointer) : undefined;
    if (pointer === undefined || stream === undefined)
      throw new BootstreamError("NOT_FOUND", `no stream ${name}`);
    if (found.stale) this.metrics.staleResponse(label);
    const history = await this.historyEntries(name).catch(() => ({ object: undefined, entries: [] }));
    const historyEtag = history.object?.etag ?? "";
    let page = this.pages.get(pointer);
    if (page === undefined || page.historyEtag !== historyEtag) {
      const signature = await this.catalog.get(signatureKey(pointerKey(name))).catch(() => undefined);
      page = {
        historyEtag,
        html: renderStreamPage(name, stream, history.entries, signature?.object !== undefined),
      };
      this.pages.set(pointer, page);
    }
    return htmlReply(page.html);
  }

  /**
   * Every stream in the store, listed at most once per revalidation interval. While the
   * store is down the last list answers at once (counted as stale), as the catalog does.
   */
  private streams(): Promise<StreamSummary[]> {
    const now = Date.now();
    if (this.listing && now - this.listing.at < this.revalidateMs) return this.listing.value;
    if (!this.health.up && this.lastListing !== undefined) {
      this.metrics.staleResponse("stream-list");
      return Promise.resolve(this.lastListing);
    }
    const value = this.listStreams().then(
      (list) => {
        this.lastListing = list;
        return list;
      },
      (error: unknown) => {
        if (this.lastListing !== undefined) {
          this.metrics.staleResponse("stream-list");
          return this.lastListing;
        }
        this.listing = undefined;
        const e = toBootstreamError(error);
        throw e.httpStatus >= 500
          ? new BootstreamError("UNAVAILABLE", "the store cannot be listed and no earlier list is held", {
              cause: error,
            })
          : e;
      },
    );
    this.listing = { at: now, value };
    return value;
  }

  private async listStreams(): Promise<StreamSummary[]> {
    const keys = await this.store.list("streams/");
    const names = keys
      .map((k) => /^streams\/([^/]+)\.json$/.exec(k)?.[1])
      .filter((n): n is string => n !== undefined && isStreamName(n));
    const out: StreamSummary[] = [];
    for (const name of names) {
      const pointer = (await this.catalog.get(pointerKey(name)).catch(() => undefined))?.object;
      const stream = pointer ? this.streamOf(pointer) : undefined;
      if (stream === undefined) continue;
      const releases: Record<string, string> = {};
      for (const [arch, list] of Object.entries(releasesByArchitecture(stream)))
        releases[arch] = list.join(",");
      out.push({ name, lastModified: stream.metadata["last-modified"], releases });
    }
    return out;
  }

  /** 200 ok or degraded (serving verified copies while the store is down), 503 when nothing can be served. */
  private readyz(): HttpReply {
    const report = readiness(this.health, this.catalog.stats());
    return jsonReply(report.status === "unavailable" ? 503 : 200, report);
  }

  private async publish({ req, params, query, label }: RouteRequest): Promise<HttpReply> {
    const route =
      label === "publish-put"
        ? { kind: "publish-put" as const, name: params.name as string }
        : { kind: "publish-post" as const };
    return handlePublish(
      req,
      route,
      {
        store: this.store,
        tokens: this.options.tokens ?? [],
        publish: this.options.publish ?? {},
        maxBodyBytes: this.options.maxBodyBytes ?? 16 * 1024 * 1024,
        bodyTimeoutMs: this.options.bodyTimeoutMs ?? 15_000,
        invalidate: (name) => {
          for (const key of [
            pointerKey(name),
            signatureKey(pointerKey(name)),
            historyKey(name),
            signatureKey(historyKey(name)),
          ])
            this.catalog.invalidate(key);
          this.listing = undefined;
        },
      },
      query,
    );
  }
}

const EMPTY_QUERY = new URLSearchParams();

const htmlReply = (html: string) => textReply(200, "text/html; charset=utf-8", html);

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
