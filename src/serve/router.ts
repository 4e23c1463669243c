/**
 * Routing as data, the way hono or h3 route without the rest of a framework: a table of
 * `[method, pattern, label, handler]` entries, first match wins, named groups become
 * params. A GET route also answers HEAD. A path some route matches for other methods gets
 * METHOD_NOT_ALLOWED with the methods it allows; a path no route matches, NOT_FOUND.
 * Written by hand: a framework's router would bring its own request and response types and
 * a per-request cost that bench/serve.ts measures against nginx.
 */
import type { IncomingMessage } from "node:http";
import type { HttpReply } from "./respond.ts";

export type Method = "GET" | "PUT" | "POST";

export interface RouteRequest {
  req: IncomingMessage;
  path: string;
  query: URLSearchParams;
  head: boolean;
  params: Readonly<Record<string, string>>;
  /** The route's label, for logs and metrics. */
  label: string;
}

export type Handler = (request: RouteRequest) => HttpReply | Promise<HttpReply>;

/**
 * The synchronous path of a route: a reply when one can be made without waiting (a fresh
 * object in memory), else undefined and the handler runs.
 */
export type FastHandler = (
  req: IncomingMessage,
  params: Readonly<Record<string, string>>,
  /** performance.now() at the request's start: one clock read serves the whole answer. */
  now: number,
) => HttpReply | undefined;

export type RouteEntry = readonly [
  method: Method,
  pattern: RegExp,
  label: string,
  handler: Handler,
  fast?: FastHandler,
];

export type Match =
  | {
      kind: "route";
      label: string;
      handler: Handler;
      fast: FastHandler | undefined;
      params: Record<string, string>;
    }
  | { kind: "method-not-allowed"; allow: string[] }
  | { kind: "not-found" };

const NOT_FOUND: Match = { kind: "not-found" };

export class Router {
  /** Matches remembered per method, then path (bounded: odd paths cannot grow it). */
  private readonly memo = new Map<string, Map<string, Match>>();
  private memoSize = 0;

  constructor(
    private readonly table: readonly RouteEntry[],
    /** Refuses params a pattern lets through but the domain does not (say, `a..b` as a name). */
    private readonly accept: (params: Record<string, string>) => boolean = () => true,
  ) {}

  match(method: string, path: string): Match {
    const byPath = this.memo.get(method);
    const known = byPath?.get(path);
    if (known !== undefined) return known;
    const found = this.find(method, path);
    if (found.kind === "route") {
      // Full: start over, so paths an attacker sprayed first cannot keep real ones out for good.
      if (this.memoSize >= 10_000) {
        this.memo.clear();
        this.memoSize = 0;
      }
      const paths = this.memo.get(method);
      if (paths === undefined) this.memo.set(method, new Map([[path, found]]));
      else paths.set(path, found);
      this.memoSize++;
    }
    return found;
  }

  private find(method: string, path: string): Match {
    const asked = method === "HEAD" ? "GET" : method;
    const allow = new Set<string>();
    for (const [routeMethod, pattern, label, handler, fast] of this.table) {
      const m = pattern.exec(path);
      if (m === null) continue;
      const params = { ...m.groups };
      if (!this.accept(params)) continue;
      if (routeMethod === asked) return { kind: "route", label, handler, fast, params };
      if (routeMethod === "GET") allow.add("GET").add("HEAD");
      else allow.add(routeMethod);
    }
    return allow.size > 0 ? { kind: "method-not-allowed", allow: [...allow] } : NOT_FOUND;
  }
}
