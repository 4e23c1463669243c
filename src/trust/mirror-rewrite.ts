/**
 * Trust through a mirror that did not re-sign: `bootstream mirror` keeps the upstream stream
 * and its signature beside the rewritten one, and a client that verified the upstream copy
 * accepts the rewritten stream only when it is that copy with nothing but what a mirror
 * does to it: each kept artifact's `location` and `signature` re-based onto the mirror's one
 * base URL (the upstream path kept, as `mirror` lays files out), and the artifacts, formats,
 * platforms and architectures it did not select left out whole. Every digest, image, release
 * and timestamp must be identical; anything added or changed is refused (TUF's
 * mix-and-match and arbitrary-content threats, for a mirror).
 */
import { BootstreamError, type Issue, toPointer } from "../errors.ts";
import { ARTIFACT_KINDS } from "../query/index.ts";
import { fileNameProblem } from "../schema/names.ts";
import type { Stream } from "../schema/stream.ts";

type Path = readonly string[];

const KINDS: ReadonlySet<string> = new Set(ARTIFACT_KINDS);

/**
 * Where a mirror keeps, beside streams/<name>.json, the upstream copy it was rewritten from
 * (and, while it replaces that copy, the one before: a client reading the older rewrite in
 * that moment still finds its original). Each with a `.asc` of the upstream signature.
 */
export const UPSTREAM_COPY_SUFFIXES = [".upstream", ".upstream-previous"] as const;

/** streams/<name><suffix>.json for each kept copy, newest first. */
export const upstreamCopyNames = (name: string): string[] =>
  UPSTREAM_COPY_SUFFIXES.map((suffix) => `${name}${suffix}.json`);

/** Whether a streams/ file name is one of a mirror's upstream copies rather than a stream. */
export const isUpstreamCopyName = (name: string): boolean =>
  UPSTREAM_COPY_SUFFIXES.some((suffix) => name.endsWith(suffix));

/** /architectures/A/artifacts/P/formats/F/K: one artifact entry, as `mirror` selects them. */
function isArtifactEntry(path: Path): boolean {
  return (
    path.length === 7 &&
    path[0] === "architectures" &&
    path[2] === "artifacts" &&
    path[4] === "formats" &&
    KINDS.has(path[6] as string)
  );
}

/**
 * What `mirror` may leave out when it did not select it: a whole architecture, platform,
 * format or artifact entry, and nothing inside an entry it kept.
 */
function mayBeLeftOut(path: Path): boolean {
  if (path[0] !== "architectures") return false;
  if (path.length === 2) return true;
  if (path[2] !== "artifacts") return false;
  if (path.length === 4) return true;
  if (path[4] !== "formats") return false;
  return path.length === 6 || isArtifactEntry(path);
}

/** The URLs `mirror` re-bases: an artifact entry's location and signature. */
function isRebasedUrl(path: Path): boolean {
  const key = path[path.length - 1];
  return (key === "location" || key === "signature") && isArtifactEntry(path.slice(0, -1));
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 90 ? `${text.slice(0, 80)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nameOf(path: Path): string {
  const key = path[path.length - 1];
  return key === undefined ? "the document" : /^\d+$/.test(key) ? `item ${key}` : key;
}

/** The upstream URL's decoded path segments, as `mirror` lays the file out, or why it cannot. */
function upstreamSegments(url: string): string[] | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "is not an http(s) URL";
  const segments: string[] = [];
  for (const raw of parsed.pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return `has a malformed percent-escape in ${JSON.stringify(raw)}`;
    }
    const problem = fileNameProblem(segment);
    if (problem !== undefined) return `has a path segment that ${problem}`;
    segments.push(segment);
  }
  return segments.length === 0 ? "names no file" : segments;
}

function lastSegment(url: URL): string {
  const raw = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The base URL a re-based `rewritten` was made with, or the problem with it. `mirror` writes
 * `new URL(<upstream path segments, each percent-encoded>, base).href`, so that is the only
 * shape accepted: the same file name, the same directories, no query or fragment.
 */
function rebasedOnto(
  key: string,
  upstream: string,
  rewritten: string,
): { base: string } | { problem: string } {
  const segments = upstreamSegments(upstream);
  if (typeof segments === "string")
    return {
      problem: `${key} differs from the upstream copy, whose ${key} ${segments}, so no mirror could re-base it`,
    };
  let parsed: URL;
  try {
    parsed = new URL(rewritten);
  } catch {
    return { problem: `${key} must be an absolute http(s) URL, found ${describe(rewritten)}` };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return { problem: `${key} must be an absolute http(s) URL, found ${describe(rewritten)}` };
  const name = segments[segments.length - 1] as string;
  if (lastSegment(parsed) !== name)
    return { problem: `${key} must keep the file name ${name}, found ${describe(rewritten)}` };
  const relative = segments.map(encodeURIComponent).join("/");
  const base = rewritten.endsWith(`/${relative}`) ? rewritten.slice(0, -relative.length) : undefined;
  let rebuilt: string | undefined;
  try {
    rebuilt = base === undefined ? undefined : new URL(relative, base).href;
  } catch {
    rebuilt = undefined;
  }
  if (base === undefined || rebuilt !== rewritten)
    return {
      problem: `${key} must be the upstream path /${relative} under the mirror's base URL (no query or fragment), found ${describe(rewritten)}`,
    };
  return { base };
}

/**
 * Why `rewritten` is not a faithful mirror rewrite of `upstream`, one issue per difference;
 * empty when it is.
 */
export function mirrorRewriteIssues(upstream: Stream, rewritten: Stream): Issue[] {
  const issues: Issue[] = [];
  const push = (path: Path, message: string) => issues.push({ pointer: toPointer(path), message });
  /** The first re-based URL's base; every other must share it (a mirror has one). */
  let firstBase: { base: string; pointer: string } | undefined;

  const walk = (up: unknown, rw: unknown, path: Path): void => {
    if (isObject(rw) && isObject(up)) {
      for (const key of Object.keys(rw)) {
        if (!Object.hasOwn(up, key)) push([...path, key], "not in the upstream copy");
        else walk(up[key], rw[key], [...path, key]);
      }
      for (const key of Object.keys(up)) {
        if (Object.hasOwn(rw, key) || mayBeLeftOut([...path, key])) continue;
        push(
          [...path, key],
          isArtifactEntry(path)
            ? `missing, but the upstream copy has it (an artifact entry is kept whole or left out)`
            : "missing, but the upstream copy has it",
        );
      }
      return;
    }
    if (Array.isArray(rw) && Array.isArray(up)) {
      const common = Math.min(rw.length, up.length);
      for (let i = 0; i < common; i++) walk(up[i], rw[i], [...path, String(i)]);
      for (let i = common; i < rw.length; i++) push([...path, String(i)], "not in the upstream copy");
      for (let i = common; i < up.length; i++)
        push([...path, String(i)], "missing, but the upstream copy has it");
      return;
    }
    if (Object.is(up, rw)) return;
    const key = nameOf(path);
    if (typeof up === "string" && typeof rw === "string" && isRebasedUrl(path)) {
      const result = rebasedOnto(key, up, rw);
      if ("problem" in result) {
        push(path, result.problem);
        return;
      }
      const pointer = toPointer(path);
      if (firstBase === undefined) firstBase = { base: result.base, pointer };
      else if (firstBase.base !== result.base)
        push(
          path,
          `${key} is re-based onto ${result.base}, but ${firstBase.pointer} onto ${firstBase.base}: a mirror has one base URL`,
        );
      return;
    }
    push(path, `${key} differs from the upstream copy: ${describe(rw)} here, ${describe(up)} there`);
  };

  walk(upstream, rewritten, []);
  return issues;
}

/** Throws SIGNATURE_INVALID, naming the first differences, unless `rewritten` is a faithful mirror of `upstream`. */
export function checkMirrorRewrite(name: string, upstream: Stream, rewritten: Stream): void {
  const issues = mirrorRewriteIssues(upstream, rewritten);
  if (issues.length === 0) return;
  const shown = issues
    .slice(0, 3)
    .map((i) => `${i.pointer || "/"}: ${i.message}`)
    .join("; ");
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : "";
  throw new BootstreamError(
    "SIGNATURE_INVALID",
    `${name} is not a faithful mirror of its signed upstream copy: ${shown}${more}`,
    { issues, path: issues[0]?.pointer ?? "" },
  );
}
