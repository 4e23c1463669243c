/**
 * The authenticated publish API: `PUT /streams/<name>.json` (with optional If-Match on the
 * pointer's ETag) and `POST /v1/publish`. Both run the same publish path as the CLI.
 * Only a request with a valid bearer token may write; bodies are size- and time-limited.
 * The name a request writes under is the one in its URL (or ?name=), checked against the one
 * stream name rule, and the body's own `stream` must be that same name: a body cannot be
 * published under a name it does not carry.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BootstreamError, toBootstreamError } from "../errors.ts";
import { checkStreamName, pointerKey } from "../publish/layout.ts";
import { type PublishOptions, publishStream } from "../publish/publish.ts";
import { decodeDocument } from "../schema/parse.ts";
import { sha256Hex } from "../storage/fs.ts";
import type { Store } from "../storage/store.ts";
import { clientError, type Reply, sendError, sendJson } from "./respond.ts";
import type { WriteRoute } from "./routes.ts";

export interface PublishApiOptions {
  store: Store;
  /** Server paths no client may see in an error message. */
  hide: readonly string[];
  /** Logs a server-side failure in full (the client gets its code only). */
  logFailure(error: BootstreamError): void;
  tokens: readonly string[];
  publish: Pick<PublishOptions, "policy" | "signer" | "signerKeys" | "retries">;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** Drop cached copies of a stream this API just changed. */
  invalidate(name: string): void;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Compares in constant time (hashing first makes the lengths equal). */
function tokenAccepted(presented: string, tokens: readonly string[]): boolean {
  const given = digest(presented);
  let ok = false;
  for (const token of tokens) ok = timingSafeEqual(given, digest(token)) || ok;
  return ok;
}

interface Denial {
  error: BootstreamError;
  /** 401 asks for credentials (with a challenge); 403 refuses the ones given. */
  status: 401 | 403;
}

function authorize(req: IncomingMessage, tokens: readonly string[]): Denial | undefined {
  const header = req.headers.authorization;
  if (header === undefined) {
    return {
      status: 401,
      error: new BootstreamError(
        "UNAUTHORIZED",
        "publishing needs a bearer token (Authorization: Bearer ...)",
      ),
    };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null || tokens.length === 0 || !tokenAccepted(m[1] as string, tokens)) {
    return { status: 403, error: new BootstreamError("UNAUTHORIZED", "the bearer token is not accepted") };
  }
  return undefined;
}

/** Reads the body up to `max` bytes within `timeoutMs`; 413 or 408 otherwise. */
function readBody(req: IncomingMessage, max: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > max) {
      reject(
        Object.assign(new BootstreamError("TOO_LARGE", `request body larger than ${max} bytes`), {
          status: 413,
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(
        Object.assign(new BootstreamError("USAGE", `request body not received within ${timeoutMs} ms`), {
          status: 408,
        }),
      );
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        reject(
          Object.assign(new BootstreamError("TOO_LARGE", `request body larger than ${max} bytes`), {
            status: 413,
          }),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new BootstreamError("IO", `request body: ${error.message}`, { cause: error }));
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** Strips quotes and the -gzip/-br suffix of our ETags, giving the sha256 they name. */
function etagSha(tag: string): string {
  return tag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"|"$/g, "")
    .replace(/-(gzip|br)$/, "");
}

/** Closes the connection after an early error answer, so an unread body is not parsed as the next request. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  error: BootstreamError,
  status?: number,
  headers: Record<string, string> = {},
): Reply {
  res.setHeader("connection", "close");
  const r =
    status === undefined
      ? sendError(res, error, false, headers)
      : sendJson(res, status, { error: clientError(error, []) }, false, headers);
  req.resume();
  return r;
}

export async function handlePublish(
  req: IncomingMessage,
  res: ServerResponse,
  route: WriteRoute,
  api: PublishApiOptions,
  query: URLSearchParams,
): Promise<Reply> {
  const denied = authorize(req, api.tokens);
  if (denied) {
    const challenge = denied.status === 401 ? { "www-authenticate": 'Bearer realm="bootstream"' } : {};
    return refuse(req, res, denied.error, denied.status, challenge);
  }
  let body: Buffer;
  try {
    body = await readBody(req, api.maxBodyBytes, api.bodyTimeoutMs);
  } catch (error) {
    return refuse(req, res, toBootstreamError(error), (error as { status?: number }).status);
  }
  const given = route.kind === "publish-put" ? route.name : (query.get("name") ?? undefined);
  try {
    const name = given === undefined ? undefined : checkStreamName(given);
    checkBodyName(body, name);
    if (route.kind === "publish-put") {
      // HTTP preconditions on the pointer, checked before anything is written.
      const current = await api.store.get(pointerKey(route.name));
      const ifMatch = req.headers["if-match"];
      const ifNoneMatch = req.headers["if-none-match"];
      const currentSha = current ? sha256Hex(current.body) : undefined;
      if (
        ifMatch !== undefined &&
        (currentSha === undefined ||
          (ifMatch.trim() !== "*" && !ifMatch.split(",").some((t) => etagSha(t) === currentSha)))
      ) {
        throw new BootstreamError(
          "CONFLICT",
          `${pointerKey(route.name)} is no longer the version named by If-Match`,
          { path: pointerKey(route.name) },
        );
      }
      if (ifNoneMatch?.trim() === "*" && current !== undefined) {
        throw new BootstreamError("CONFLICT", `${pointerKey(route.name)} already exists (If-None-Match: *)`, {
          path: pointerKey(route.name),
        });
      }
    }
    const result = await publishStream(api.store, body, {
      ...api.publish,
      ...(name !== undefined ? { name } : {}),
      ...(query.get("force") === "true" ? { force: true } : {}),
    });
    api.invalidate(result.name);
    return sendJson(res, result.pointerMoved ? 201 : 200, result, false, {
      etag: `"${result.sha256}"`,
      location: `/streams/${result.name}/${result.id}.json`,
    });
  } catch (error) {
    const e = toBootstreamError(error);
    if (e.httpStatus >= 500) api.logFailure(e);
    return sendError(res, e, false, {}, api.hide);
  }
}

/**
 * The body's `stream` must be the name the request publishes under. Only the field is read
 * here; the whole body is validated by the publish path (which also applies the name rule
 * to the field when no name is given).
 */
function checkBodyName(body: Buffer, name: string | undefined): void {
  if (name === undefined) return;
  let field: unknown;
  try {
    field = (decodeDocument(body).value as { stream?: unknown } | null)?.stream;
  } catch {
    return; // not JSON: the publish path reports it with its position
  }
  if (typeof field === "string" && field !== name) {
    throw new BootstreamError(
      "USAGE",
      `the body's /stream is ${JSON.stringify(field.slice(0, 80))}, but the request publishes ${JSON.stringify(name)}: they must be the same`,
      { path: "/stream" },
    );
  }
}
