/**
 * The one error type of bootstream. Every failure the library reports is a
 * BootstreamError with a code from a closed set; the CLI maps the code to an exit
 * status and the HTTP server to a response status, each through the table below,
 * so callers and tests branch on `code`, never on message text.
 */

export const ERROR_CODES = {
  /** A document does not match its schema, or is not JSON at all. */
  INVALID_DOCUMENT: { exit: 1, http: 422 },
  /** A document's kind could not be recognised (and none was given). */
  UNKNOWN_KIND: { exit: 1, http: 422 },
  /** An architecture, platform, format, region, stream or file does not exist. */
  NOT_FOUND: { exit: 1, http: 404 },
  /** Downloaded or stored bytes do not hash to the expected digest (own exit code: scripts tell it apart). */
  CHECKSUM_MISMATCH: { exit: 3, http: 422 },
  /** An OpenPGP signature does not verify against the given keys (own exit code, like CHECKSUM_MISMATCH). */
  SIGNATURE_INVALID: { exit: 4, http: 422 },
  /**
   * A stream older than the newest this client accepted from the same URL, or the same
   * last-modified with other bytes (a rollback: a stale or compromised mirror). Own exit code.
   */
  ROLLBACK: { exit: 5, http: 409 },
  /** A stream older than the client's --max-age (a mirror that stopped updating: a freeze). */
  FROZEN: { exit: 5, http: 409 },
  /** A precondition failed: someone else changed the object first. */
  CONFLICT: { exit: 1, http: 412 },
  /** Credentials are missing or wrong. */
  UNAUTHORIZED: { exit: 2, http: 401 },
  /** Credentials were given but are not accepted for this action. */
  FORBIDDEN: { exit: 2, http: 403 },
  /** The resource exists but not for this method (the answer names the allowed ones). */
  METHOD_NOT_ALLOWED: { exit: 2, http: 405 },
  /** A client did not send its request (body) within the time allowed. */
  REQUEST_TIMEOUT: { exit: 2, http: 408 },
  /** A request URL is longer than the server accepts. */
  URI_TOO_LONG: { exit: 2, http: 414 },
  /** A lint policy rule was violated. */
  POLICY_VIOLATION: { exit: 1, http: 422 },
  /** Input is larger than the limit for its kind. */
  TOO_LARGE: { exit: 2, http: 413 },
  /** A peer (artifact server, registry, store) did not answer or went silent within its deadline. */
  TIMEOUT: { exit: 2, http: 504 },
  /** A dependency (the store) is down and nothing verified can answer instead; try again later. */
  UNAVAILABLE: { exit: 2, http: 503 },
  /** Reading or writing a file, URL or object failed. */
  IO: { exit: 2, http: 502 },
  /** The command line or request was malformed. */
  USAGE: { exit: 2, http: 400 },
} as const satisfies Record<string, { exit: 1 | 2 | 3 | 4 | 5; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem found in a document, located by a JSON pointer (RFC 6901). */
export interface Issue {
  /** JSON pointer of the offending value; "" is the whole document. */
  pointer: string;
  /** What was expected, then what was found, as one readable sentence. */
  message: string;
  /** Line and column (1-based) where known, for syntax errors. */
  line?: number;
  column?: number;
}

export interface BootstreamErrorOptions {
  /** JSON pointer or file/URL/object path the error is about. */
  path?: string;
  cause?: unknown;
  /** Every problem found, when there is more than one (validation). */
  issues?: readonly Issue[];
}

export class BootstreamError extends Error {
  override readonly name = "BootstreamError";
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly issues: readonly Issue[];

  constructor(code: ErrorCode, message: string, options: BootstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.issues = options.issues ?? [];
  }

  get exitCode(): 1 | 2 | 3 | 4 | 5 {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; path?: string; issues?: readonly Issue[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.path === undefined ? {} : { path: this.path }),
      ...(this.issues.length === 0 ? {} : { issues: this.issues }),
    };
  }
}

export function isBootstreamError(value: unknown): value is BootstreamError {
  return value instanceof BootstreamError;
}

/** Wraps anything thrown into a BootstreamError, keeping the original as cause. */
export function toBootstreamError(
  value: unknown,
  fallback: ErrorCode = "IO",
  path?: string,
): BootstreamError {
  if (value instanceof BootstreamError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new BootstreamError(fallback, message, { cause: value, ...(path === undefined ? {} : { path }) });
}

/** Escapes one reference token of a JSON pointer (RFC 6901 section 3). */
export function escapePointerToken(token: string | number): string {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

export function toPointer(path: readonly (string | number)[]): string {
  let out = "";
  for (const token of path) out += `/${escapePointerToken(token)}`;
  return out;
}

export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new BootstreamError("USAGE", `JSON pointer must start with "/", got ${JSON.stringify(pointer)}`);
  }
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}
