/**
 * Paths built from document data (stream names, artifact file names, URL path segments,
 * tar entries) are confined: each segment must be a plain file name (schema/names.ts), and
 * the joined path must stay under its root. Nothing here touches the filesystem; links are
 * the job of files/open.ts.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { BootstreamError, type ErrorCode } from "../errors.ts";
import { fileNameProblem } from "../schema/names.ts";

export interface ConfineOptions {
  /** Error code for a refused path: INVALID_DOCUMENT for document data (default), USAGE for arguments. */
  code?: ErrorCode;
  /** What the segments came from, for the message ("artifact URL https://…"). */
  what?: string;
  /** JSON pointer of the value the path came from. */
  pointer?: string;
}

/** `root/seg1/seg2/...`, refusing any segment that is not a plain file name. */
export function resolveInside(
  root: string,
  segments: readonly string[],
  options: ConfineOptions = {},
): string {
  const refuse = (why: string) =>
    new BootstreamError(options.code ?? "INVALID_DOCUMENT", `${options.what ?? "path"}: ${why}`, {
      ...(options.pointer === undefined ? {} : { path: options.pointer }),
    });
  if (segments.length === 0) throw refuse("names no file");
  for (const segment of segments) {
    const problem = fileNameProblem(segment);
    if (problem !== undefined) throw refuse(problem);
  }
  const path = join(root, ...segments);
  const rel = relative(resolve(root), resolve(path));
  // Unreachable after the segment checks; kept so a future change to them cannot open a hole.
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw refuse(`leaves ${root}`);
  return path;
}
