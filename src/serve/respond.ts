/** Writing small complete responses (JSON, text) with the headers every answer carries. */
import type { ServerResponse } from "node:http";
import type { BootstreamError, ErrorCode } from "../errors.ts";

export interface Reply {
  status: number;
  bytes: number;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  head: boolean,
  extra: Record<string, string> = {},
): Reply {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.byteLength,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...extra,
  });
  res.end(head ? undefined : body);
  return { status, bytes: head ? 0 : body.byteLength };
}

/** Answers with an error as a client may see it (see clientError); `hide` names server paths. */
export function sendError(
  res: ServerResponse,
  error: BootstreamError,
  head = false,
  extra: Record<string, string> = {},
  hide: readonly string[] = [],
): Reply {
  return sendJson(res, error.httpStatus, { error: clientError(error, hide) }, head, extra);
}

export function sendText(
  res: ServerResponse,
  status: number,
  type: string,
  text: string,
  head: boolean,
): Reply {
  const body = Buffer.from(text);
  res.writeHead(status, {
    "content-type": type,
    "content-length": body.byteLength,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  res.end(head ? undefined : body);
  return { status, bytes: head ? 0 : body.byteLength };
}

/** What a client is told instead of the details of a server-side failure. */
const SERVER_SIDE: Partial<Record<ErrorCode, string>> = {
  IO: "the store could not be read or written, or holds damaged data; the server log has the details",
  TIMEOUT: "the store did not answer in time; the server log has the details",
};

/**
 * An error as a client may see it. A server-side failure (5xx) becomes its code and a
 * generic message: its details (store paths, errno texts) are for the server's log only.
 * A client error (4xx) keeps its message, which is about the request, with the store's
 * location (`hide`) replaced by "the store".
 */
export function clientError(
  error: BootstreamError,
  hide: readonly string[],
): { code: ErrorCode; message: string; path?: string; issues?: BootstreamError["issues"] } {
  const generic = error.httpStatus >= 500 ? (SERVER_SIDE[error.code] ?? "internal error") : undefined;
  if (generic !== undefined) return { code: error.code, message: generic };
  let message = error.message;
  let path = error.path;
  for (const secret of hide) {
    if (secret === "") continue;
    message = message.replaceAll(secret, "the store");
    path = path?.replaceAll(secret, "the store");
  }
  return {
    code: error.code,
    message,
    ...(path === undefined ? {} : { path }),
    ...(error.issues.length === 0 ? {} : { issues: error.issues }),
  };
}
