/**
 * Local names from artifact URLs. A URL in a stream is document data, so the names taken
 * from it are checked like any path from a document: http(s) only, well-formed
 * percent-escapes, and every decoded segment a plain file name (schema/names.ts), so it
 * can neither leave its directory nor break the one-path-per-line output.
 */
import { BootstreamError, type ErrorCode } from "../errors.ts";
import { fileNameProblem } from "../schema/names.ts";

export interface UrlOrigin {
  /** JSON pointer of the value in its stream; absent for a URL given on the command line. */
  pointer?: string;
}

/** Document data is INVALID_DOCUMENT, a command-line value USAGE. */
export function codeFor(origin: UrlOrigin): ErrorCode {
  return origin.pointer === undefined ? "USAGE" : "INVALID_DOCUMENT";
}

function refuse(url: string, origin: UrlOrigin, why: string): BootstreamError {
  const where = origin.pointer === undefined ? "" : `${origin.pointer}: `;
  return new BootstreamError(codeFor(origin), `${where}${url}: ${why}`, {
    path: origin.pointer ?? url,
  });
}

/** The parsed URL, refusing anything but http and https. */
export function httpUrl(url: string, origin: UrlOrigin = {}): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse(url, origin, "not a URL (expected an absolute http or https URL)");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw refuse(url, origin, `only http and https URLs can be downloaded, not ${parsed.protocol}`);
  return parsed;
}

function decodeSegment(raw: string, url: string, origin: UrlOrigin): string {
  let segment: string;
  try {
    segment = decodeURIComponent(raw);
  } catch {
    throw refuse(url, origin, `malformed percent-escape in ${JSON.stringify(raw)}`);
  }
  const problem = fileNameProblem(segment);
  if (problem !== undefined) throw refuse(url, origin, `path segment ${problem}`);
  return segment;
}

/** The decoded, non-empty segments of the URL's path (a mirror's layout), each a plain file name. */
export function urlPathSegments(url: string, origin: UrlOrigin = {}): string[] {
  const segments = httpUrl(url, origin)
    .pathname.split("/")
    .filter((raw) => raw !== "")
    .map((raw) => decodeSegment(raw, url, origin));
  if (segments.length === 0) throw refuse(url, origin, "names no file");
  return segments;
}

/** The local file name for a URL: its last path segment (a download's name). */
export function fileNameOf(url: string, origin: UrlOrigin = {}): string {
  const { pathname } = httpUrl(url, origin);
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  if (last === "") throw refuse(url, origin, "names no file (its path ends with /)");
  return decodeSegment(last, url, origin);
}
