/**
 * Maps a request path to what it names. Names and ids must match strict patterns, so a
 * path can only ever resolve to keys under streams/ that publishing could have written:
 * traversal attempts (`..`, encoded or not) simply match no route.
 */
import { historyKey, pinnedKey, pointerKey, signatureKey } from "../publish/layout.ts";
import { isStreamName, STREAM_NAME_PATTERN } from "../schema/names.ts";

export type FileClass = "pointer" | "pinned" | "history";

export type Route =
  | { kind: "file"; key: string; class: FileClass; signature: boolean; name: string; id?: string }
  | { kind: "index-page" }
  | { kind: "stream-page"; name: string }
  | { kind: "stream-list" }
  | { kind: "health" }
  | { kind: "metrics" }
  | { kind: "publish-put"; name: string }
  | { kind: "publish-post" };

/** Low-cardinality label for metrics and logs. */
export function routeLabel(route: Route | undefined): string {
  if (route === undefined) return "unmatched";
  if (route.kind === "file") return `${route.class}${route.signature ? ".asc" : ""}`;
  return route.kind;
}

/** The one stream name pattern (schema/names.ts), as a capture; at most 64 characters. */
const NAME = `(${STREAM_NAME_PATTERN.source.slice(1, -1)})`;
const ID = "(\\d{8}(?:-\\d{1,3})?)";
const POINTER = new RegExp(`^/streams/${NAME}\\.json(\\.asc)?$`);
const PINNED = new RegExp(`^/streams/${NAME}/${ID}\\.json(\\.asc)?$`);
const HISTORY = new RegExp(`^/streams/${NAME}/history\\.json(\\.asc)?$`);
const FLAT_PINNED = new RegExp(`^/stream-${NAME}-${ID}\\.json(\\.asc)?$`);
const FLAT_POINTER = new RegExp(`^/stream-${NAME}\\.json(\\.asc)?$`);
const PAGE = new RegExp(`^/streams/${NAME}/?$`);

const validName = isStreamName;

function file(cls: FileClass, name: string, signature: boolean, id?: string): Route | undefined {
  if (!validName(name)) return undefined;
  const base =
    cls === "pointer"
      ? pointerKey(name)
      : cls === "history"
        ? historyKey(name)
        : pinnedKey(name, id as string);
  return {
    kind: "file",
    key: signature ? signatureKey(base) : base,
    class: cls,
    signature,
    name,
    ...(id ? { id } : {}),
  };
}

/** The route for a GET/HEAD path, or undefined. */
export function matchRead(path: string): Route | undefined {
  if (path === "/" || path === "/index.html") return { kind: "index-page" };
  if (path === "/healthz") return { kind: "health" };
  if (path === "/metrics") return { kind: "metrics" };
  if (path === "/v1/streams") return { kind: "stream-list" };
  let m = POINTER.exec(path);
  if (m) return file("pointer", m[1] as string, m[2] !== undefined);
  m = HISTORY.exec(path);
  if (m) return file("history", m[1] as string, m[2] !== undefined);
  m = PINNED.exec(path);
  if (m) return file("pinned", m[1] as string, m[3] !== undefined, m[2]);
  // A name may itself end in digits, so the pinned form (…-YYYYMMDD) is tried first.
  m = FLAT_PINNED.exec(path);
  if (m) return file("pinned", m[1] as string, m[3] !== undefined, m[2]);
  m = FLAT_POINTER.exec(path);
  if (m) return file("pointer", m[1] as string, m[2] !== undefined);
  m = PAGE.exec(path);
  if (m && validName(m[1] as string)) return { kind: "stream-page", name: m[1] as string };
  return undefined;
}

/** The route for a write, or undefined. */
export type WriteRoute = Extract<Route, { kind: "publish-put" | "publish-post" }>;

export function matchWrite(method: string, path: string): WriteRoute | undefined {
  if (method === "POST" && path === "/v1/publish") return { kind: "publish-post" };
  if (method === "PUT") {
    const m = POINTER.exec(path);
    if (m && m[2] === undefined && validName(m[1] as string))
      return { kind: "publish-put", name: m[1] as string };
  }
  return undefined;
}

/** Whether any method is allowed on this path (for 405 vs 404). */
export function allowedMethods(path: string): string[] {
  const allowed: string[] = [];
  if (matchRead(path)) allowed.push("GET", "HEAD");
  if (matchWrite("PUT", path)) allowed.push("PUT");
  if (matchWrite("POST", path)) allowed.push("POST");
  return allowed;
}
