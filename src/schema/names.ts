/**
 * Names that become paths. A stream name ends up as a file or object key
 * (`streams/<name>.json`, a mirror's `streams/<name>.json`, an OCI layer entry), and an
 * artifact's file name as a local file; both come from documents that may be hostile, so
 * each has one strict rule, checked here and nowhere else.
 */

/**
 * Lowercase letters, digits, `.`, `_`, `-`; starts and ends with a letter or digit; at most
 * 64 characters (`stable`, `testing-devel`, `rhcos-4.16`). Lowercase only, so two streams
 * can never collide on a case-insensitive filesystem or bucket.
 */
export const STREAM_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

export const STREAM_NAME_EXPECTATION =
  "a stream name of lowercase letters, digits, . _ - (starting and ending with a letter or digit, at most 64 characters, like stable or rhcos-4.16)";

export function isStreamName(name: string): boolean {
  return STREAM_NAME_PATTERN.test(name) && !name.includes("..");
}

/** Longest file name (one path segment) we create: ext4, xfs and btrfs allow 255 bytes. */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * Why `name` cannot be one path segment of a file we create, or undefined when it can:
 * not empty, `.` or `..`, no separator, NUL or other control character (a newline would
 * also break "one path per line" output), at most 255 bytes.
 */
const utf8 = new TextEncoder();

export function fileNameProblem(name: string): string | undefined {
  if (name === "" || name === "." || name === "..") return `${JSON.stringify(name)} is not a file name`;
  if (/[/\\]/.test(name)) return `${JSON.stringify(name)} contains a path separator`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name))
    return `${JSON.stringify(name)} contains a control character`;
  if (utf8.encode(name).length > MAX_FILE_NAME_BYTES)
    return `${JSON.stringify(name.slice(0, 40))}… is longer than ${MAX_FILE_NAME_BYTES} bytes`;
  return undefined;
}

export function isSafeFileName(name: string): boolean {
  return fileNameProblem(name) === undefined;
}
