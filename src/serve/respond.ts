/**
 * Replies as data. A route handler returns an HttpReply (status, headers, body) and one
 * function writes it, so every answer carries the same base headers and every error reaches
 * HTTP through one path: its code's status from the error table (src/errors.ts), plus the
 * headers that status calls for (Allow, Retry-After, WWW-Authenticate).
 */
import type { ServerResponse } from "node:http";
import type { BootstreamError, ErrorCode } from "../errors.ts";

export interface HttpReply {
  status: number;
  headers: Record<string, string | number>;
  /** Omitted for 304 and empty answers; never written for HEAD. */
  body?: Buffer;
}

const BASE = { "x-content-type-options": "nosniff" } as const;

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  return {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": body.byteLength,
      "cache-control": "no-store",
      ...BASE,
      ...headers,
    },
    body,
  };
}

export function textReply(
  status: number,
  type: string,
  text: string,
  headers: Record<string, string> = {},
): HttpReply {
  const body = Buffer.from(text);
  return {
    status,
    headers: {
      "content-type": type,
      "content-length": body.byteLength,
      "cache-control": "no-cache",
      ...BASE,
      ...headers,
    },
    body,
  };
}

/** Writes a reply; HEAD gets the headers only. Returns the body bytes sent. */
export function writeReply(res: ServerResponse, reply: HttpReply, head: boolean): number {
  res.writeHead(reply.status, reply.headers);
  if (head || reply.body === undefined) {
    res.end();
    return 0;
  }
  res.end(reply.body);
  return reply.body.byteLength;
}

/** Seconds a client should wait before retrying while the store is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

/** Headers a status calls for (RFC 9110): the challenge, the allowed methods, when to retry. */
export interface ErrorContext {
  /** For METHOD_NOT_ALLOWED: the methods the path allows. */
  allow?: readonly string[];
  /** Server paths no client may see in a message. */
  hide?: readonly string[];
}

/** The one way an error becomes an HTTP answer. */
export function errorReply(error: BootstreamError, context: ErrorContext = {}): HttpReply {
  const headers: Record<string, string> = {};
  if (error.code === "UNAUTHORIZED") headers["www-authenticate"] = 'Bearer realm="bootstream"';
  if (error.code === "METHOD_NOT_ALLOWED" && context.allow) headers.allow = context.allow.join(", ");
  if (error.code === "UNAVAILABLE" || error.code === "TIMEOUT")
    headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  return jsonReply(error.httpStatus, { error: clientError(error, context.hide ?? []) }, headers);
}

/** What a client is told instead of the details of a server-side failure. */
const SERVER_SIDE: Partial<Record<ErrorCode, string>> = {
  IO: "the store could not be read or written, or holds damaged data; the server log has the details",
  TIMEOUT: "the store did not answer in time; the server log has the details",
  UNAVAILABLE: "the store is unavailable and this server holds no verified copy of this object; retry later",
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
