/**
 * Every route serve answers, as one table (see router.ts). Names and ids must match strict
 * patterns, so a path can only ever resolve to keys under streams/ that publishing could
 * have written: traversal attempts (`..`, encoded or not) simply match no route.
 */
import { historyKey, pinnedKey, pointerKey, signatureKey } from "../publish/layout.ts";
import { isStreamName, STREAM_NAME_PATTERN } from "../schema/names.ts";
import type { FastHandler, Handler, RouteEntry } from "./router.ts";

export type FileClass = "pointer" | "pinned" | "history";

/** The store object a file route names. */
export interface FileTarget {
  key: string;
  class: FileClass;
  signature: boolean;
  name: string;
  id?: string;
}

export interface ServeHandlers {
  /** A file route's handler and its synchronous fast path. */
  file(cls: FileClass, signature: boolean): readonly [Handler, FastHandler];
  indexPage: Handler;
  streamPage: Handler;
  streamList: Handler;
  livez: Handler;
  readyz: Handler;
  metrics: Handler;
  publish: Handler;
}

/** The one stream name pattern (schema/names.ts) as a named capture; at most 64 characters. */
const NAME = `(?<name>${STREAM_NAME_PATTERN.source.slice(1, -1)})`;
const ID = "(?<id>\\d{8}(?:-\\d{1,3})?)";
const exact = (source: string) => new RegExp(`^${source}$`);

export function routeTable(h: ServeHandlers): RouteEntry[] {
  const file = (path: string, cls: FileClass): RouteEntry[] => {
    const [plain, plainFast] = h.file(cls, false);
    const [signed, signedFast] = h.file(cls, true);
    return [
      ["GET", exact(`${path}\\.json`), cls, plain, plainFast],
      ["GET", exact(`${path}\\.json\\.asc`), `${cls}.asc`, signed, signedFast],
    ];
  };
  return [
    ["GET", /^\/(?:index\.html)?$/, "index-page", h.indexPage],
    ["GET", /^\/livez$/, "livez", h.livez],
    ["GET", /^\/readyz$/, "readyz", h.readyz],
    ["GET", /^\/healthz$/, "healthz", h.readyz],
    ["GET", /^\/metrics$/, "metrics", h.metrics],
    ["GET", /^\/v1\/streams$/, "stream-list", h.streamList],
    ...file(`/streams/${NAME}`, "pointer"),
    ...file(`/streams/${NAME}/history`, "history"),
    ...file(`/streams/${NAME}/${ID}`, "pinned"),
    // A name may itself end in digits, so the flat pinned form (…-YYYYMMDD) is tried first.
    ...file(`/stream-${NAME}-${ID}`, "pinned"),
    ...file(`/stream-${NAME}`, "pointer"),
    ["GET", exact(`/streams/${NAME}/?`), "stream-page", h.streamPage],
    ["PUT", exact(`/streams/${NAME}\\.json`), "publish-put", h.publish],
    ["POST", /^\/v1\/publish$/, "publish-post", h.publish],
  ];
}

/** A `name` param must pass the full name rule (the pattern alone lets `a..b` through). */
export function acceptParams(params: Record<string, string>): boolean {
  return params.name === undefined || isStreamName(params.name);
}

export function fileTarget(
  cls: FileClass,
  signature: boolean,
  params: Readonly<Record<string, string>>,
): FileTarget {
  const name = params.name as string;
  const id = params.id;
  const base =
    cls === "pointer"
      ? pointerKey(name)
      : cls === "history"
        ? historyKey(name)
        : pinnedKey(name, id as string);
  return { key: signature ? signatureKey(base) : base, class: cls, signature, name, ...(id ? { id } : {}) };
}

/** What a publish request names: a PUT of one pointer, or a POST whose body (or ?name=) names it. */
export type WriteRoute = { kind: "publish-put"; name: string } | { kind: "publish-post" };
