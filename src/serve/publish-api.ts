/**
 * The authenticated publish API: `PUT /streams/<name>.json` and `POST /v1/publish` (both with
 * optional If-Match / If-None-Match on the pointer's ETag). Both run the same publish path as the CLI.
 * Only a request with a valid bearer token may write; bodies are size- and time-limited.
 * The name a request writes under is the one in its URL (or ?name=), checked against the one
 * stream name rule, and the body's own `stream` must be that same name: a body cannot be
 * published under a name it does not carry.
 *
 * `If-Match` / `If-None-Match` are parsed here (RFC 9110 §13.1) into a precondition
 * on the pointer that the publish path checks against the version it reads and swaps from, in
 * one conditional write (src/publish/publish.ts): 20 racers with the same If-Match give one
 * winner and 19 × 412, and the losers leave nothing behind.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BootstreamError } from "../errors.ts";
import { type EntityTag, parseEntityTags, quoteEtag } from "../net/etag.ts";
import { checkStreamName } from "../publish/layout.ts";
import { type PointerPrecondition, type PublishOptions, publishStream } from "../publish/publish.ts";
import { parseDocumentAs } from "../schema/parse.ts";
import type { Store } from "../storage/store.ts";
import { type HttpReply, jsonReply } from "./respond.ts";
import type { WriteRoute } from "./routes.ts";

export interface PublishApiOptions {
  store: Store;
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

/** Throws UNAUTHORIZED (no credentials: 401 with a challenge) or FORBIDDEN (not accepted: 403). */
function authorize(req: IncomingMessage, tokens: readonly string[]): void {
  const header = req.headers.authorization;
  if (header === undefined)
    throw new BootstreamError("UNAUTHORIZED", "publishing needs a bearer token (Authorization: Bearer ...)");
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m === null || tokens.length === 0 || !tokenAccepted(m[1] as string, tokens))
    throw new BootstreamError("FORBIDDEN", "the bearer token is not accepted");
}

/** Reads the body up to `max` bytes within `timeoutMs`; 413 or 408 otherwise. */
function readBody(req: IncomingMessage, max: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > max) {
      reject(new BootstreamError("TOO_LARGE", `request body larger than ${max} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new BootstreamError("REQUEST_TIMEOUT", `request body not received within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        reject(new BootstreamError("TOO_LARGE", `request body larger than ${max} bytes`));
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

/** `*`, or the list of entity-tags of an If-Match / If-None-Match field; USAGE when malformed. */
function entityTagsOf(field: string, value: string): "*" | EntityTag[] {
  const tags = parseEntityTags(value);
  if (tags !== undefined) return tags;
  if (/^[\t ,]*$/.test(value)) throw new BootstreamError("USAGE", `${field} is empty`);
  throw new BootstreamError(
    "USAGE",
    `${field} must be * or a list of entity tags like "<sha256>", got ${JSON.stringify(value.slice(0, 200))}`,
  );
}

/** Our ETags: the sha256 of the identity bytes, `-gzip` / `-br` for encoded forms of them. */
const OUR_TAG = /^([0-9a-f]{64})(?:-gzip|-br)?$/;

/** The sha256s that `tags` name; other tags name nothing we serve, so they match nothing. */
function namedShas(tags: readonly EntityTag[]): string[] {
  return tags.flatMap((t) => OUR_TAG.exec(t.opaque)?.[1] ?? []);
}

/**
 * The precondition on the pointer from If-Match (strong comparison: a weak tag never matches)
 * and If-None-Match (weak comparison: W/ is ignored), or undefined without either.
 */
export function pointerPrecondition(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): PointerPrecondition | undefined {
  const pre: PointerPrecondition = {};
  if (ifMatch !== undefined) {
    const tags = entityTagsOf("If-Match", ifMatch);
    pre.ifMatch = tags === "*" ? "*" : namedShas(tags.filter((t) => !t.weak));
  }
  if (ifNoneMatch !== undefined) {
    const tags = entityTagsOf("If-None-Match", ifNoneMatch);
    pre.ifNoneMatch = tags === "*" ? "*" : namedShas(tags);
  }
  return ifMatch === undefined && ifNoneMatch === undefined ? undefined : pre;
}

/**
 * Runs one API publish; throws a BootstreamError for every refusal (the server turns it into
 * the answer, and closes the connection when the request body was not read).
 */
export async function handlePublish(
  req: IncomingMessage,
  route: WriteRoute,
  api: PublishApiOptions,
  query: URLSearchParams,
): Promise<HttpReply> {
  authorize(req, api.tokens);
  // HTTP preconditions name a version of the pointer of the stream published (for POST too: a
  // condition a server does not evaluate must not be taken as met). The publish checks them
  // against the version it swaps from; a check here and a swap there would let two racers win.
  const pre = pointerPrecondition(req.headers["if-match"], req.headers["if-none-match"]);
  const body = await readBody(req, api.maxBodyBytes, api.bodyTimeoutMs);
  const given = route.kind === "publish-put" ? route.name : (query.get("name") ?? undefined);
  const name = given === undefined ? undefined : checkStreamName(given);
  // Parsed once: publishStream lints, canonicalises and stores this very document.
  const document = parseDocumentAs("stream", body);
  checkBodyName(document.data.stream, name);
  const result = await publishStream(api.store, document, {
    ...api.publish,
    ...(name !== undefined ? { name } : {}),
    ...(query.get("force") === "true" ? { force: true } : {}),
    ...(pre !== undefined ? { pointerPrecondition: pre } : {}),
  });
  api.invalidate(result.name);
  return jsonReply(result.pointerMoved ? 201 : 200, result, {
    etag: quoteEtag(result.sha256),
    location: `/streams/${result.name}/${result.id}.json`,
  });
}

/** The body's `stream` must be the name the request publishes under. */
function checkBodyName(field: unknown, name: string | undefined): void {
  if (name === undefined) return;
  if (typeof field === "string" && field !== name) {
    throw new BootstreamError(
      "USAGE",
      `the body's /stream is ${JSON.stringify(field.slice(0, 80))}, but the request publishes ${JSON.stringify(name)}: they must be the same`,
      { path: "/stream" },
    );
  }
}
