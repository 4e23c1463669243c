/** Writing small complete responses (JSON, text) with the headers every answer carries. */
import type { ServerResponse } from "node:http";
import type { BootstreamError } from "../errors.ts";

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

export function sendError(
  res: ServerResponse,
  error: BootstreamError,
  head = false,
  extra: Record<string, string> = {},
): Reply {
  return sendJson(res, error.httpStatus, { error: error.toJSON() }, head, extra);
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
