/**
 * The pre-4.8 installer boot-image file: openshift/installer `data/data/rhcos.json` (up to
 * 4.5) and `data/data/rhcos-<arch>.json` (4.3 to 4.8), one build of one architecture. Read by
 * the installer's `pkg/rhcos/builds.go` `metadata` struct (amis, azure, gcp, baseURI, images,
 * ostree-version). Only what a conversion reads is checked closely; everything else is kept
 * as it is and reported as not carried (see legacy.ts).
 *
 * The file is hostile input: `path` joins `baseURI` into artifact URLs that users download,
 * so it must be a bare file name (no directory, `..`, URL, query or escape).
 */
import { z } from "zod";
import { BootstreamError, type Issue, toPointer } from "../errors.ts";
import { gcpName, httpUrl, nonEmpty, regionName, releaseVersion, sha256 } from "../schema/common.ts";
import { describeValue, valueAt } from "../schema/documents.ts";
import { invalidDocumentError } from "../schema/parse.ts";
import { printable } from "../schema/text.ts";

/** Real legacy files name artifacts like `rhcos-45.82.202008010929-0-metal.x86_64.raw.gz`. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export const LEGACY_FILE_NAME_EXPECTATION =
  "a bare file name of letters, digits and . _ + ~ - (no directory, .., URL, query or %-escape)";

const legacyImage = z.looseObject({
  path: z.string().regex(FILE_NAME, { error: LEGACY_FILE_NAME_EXPECTATION }),
  sha256,
  "uncompressed-sha256": sha256.optional(),
});

/**
 * `ResolveReference` of the installer drops a base's query and fragment: refuse them instead.
 * Credentials would be copied into every artifact URL of a stream that gets published. An
 * encoded dot (`%2e%2e/`) is a dot segment to a WHATWG URL but not to Go's resolver, so the
 * two would make different URLs of it.
 */
const baseUri = httpUrl
  .refine((v) => !/[?#]/.test(v), {
    error: "an http(s) URL without query or fragment (artifact URLs are resolved against it)",
  })
  .refine((v) => !/^[a-z]+:\/\/[^/]*@/i.test(v), {
    error: "an http(s) URL without user:password@ (the credentials would be in every artifact URL)",
  })
  .refine((v) => !/%2e/i.test(v), {
    error: "an http(s) URL without an encoded dot (%2e), which URL parsers resolve as a dot segment or not",
  });

export const legacyInstallerSchema = z.looseObject({
  amis: z
    .record(
      regionName,
      z.looseObject({
        hvm: z.string().regex(/^ami-[0-9a-f]{8,32}$/, { error: "an AMI id like ami-0123456789abcdef0" }),
      }),
    )
    .optional(),
  azure: z.looseObject({ url: httpUrl, image: z.string().optional() }).optional(),
  baseURI: baseUri,
  buildid: releaseVersion,
  gcp: z
    .looseObject({
      family: gcpName.optional(),
      image: gcpName,
      project: gcpName.optional(),
      url: httpUrl.optional(),
    })
    .optional(),
  images: z.record(nonEmpty, legacyImage),
});

export type LegacyInstallerFile = z.infer<typeof legacyInstallerSchema>;
export type LegacyImage = z.infer<typeof legacyImage>;

/**
 * `value` as a legacy file, or INVALID_DOCUMENT with every problem located by JSON pointer
 * (`name`, a file, prefixes the message).
 */
export function parseLegacyInstaller(value: unknown, name?: string): LegacyInstallerFile {
  const protoKeys = prototypeKeys(value);
  if (protoKeys.length > 0) throw legacyFileError(protoKeys, name);
  const result = legacyInstallerSchema.safeParse(value);
  const issues = result.success ? duplicatePaths(result.data) : schemaIssues(result.error.issues, value);
  if (result.success && issues.length === 0) return result.data;
  throw legacyFileError(issues, name);
}

/**
 * Every `__proto__` key: JSON.parse keeps it as a field, but a zod record and any object it is
 * copied into drop it without a word, so an image or region of that name would vanish.
 */
function prototypeKeys(value: unknown, path: (string | number)[] = []): Issue[] {
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === "__proto__"
      ? [
          {
            pointer: toPointer([...path, key]),
            message: 'expected a key other than "__proto__" (JavaScript objects cannot hold it), found one',
          },
        ]
      : prototypeKeys(child, [...path, Array.isArray(value) ? Number(key) : key]),
  );
}

/**
 * INVALID_DOCUMENT for `issues`. A pointer is made of the file's own keys, which may hold
 * terminal escapes: the message shows it escaped (the issues keep it as it is).
 */
export function legacyFileError(issues: readonly Issue[], name?: string): BootstreamError {
  const shown = issues.map((issue) => ({ ...issue, pointer: printable(issue.pointer) }));
  const error = invalidDocumentError(shown, name);
  return new BootstreamError(error.code, error.message, { path: issues[0]?.pointer ?? "", issues });
}

function schemaIssues(issues: readonly z.core.$ZodIssue[], value: unknown): Issue[] {
  return issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    const found = describeValue(valueAt(value, path));
    const expected =
      issue.code === "invalid_type"
        ? `${issue.expected === "object" ? "an" : "a"} ${issue.expected}`
        : issue.code === "invalid_key"
          ? `a key that is ${issue.issues[0]?.message ?? "valid"}`
          : issue.message;
    const what = issue.code === "invalid_key" ? `key ${describeValue(path.at(-1))}` : found;
    return { pointer: toPointer(path), message: `expected ${expected}, found ${what}` };
  });
}

/** Two images with one file name would be one URL in the stream: which one it is cannot be told. */
function duplicatePaths(file: LegacyInstallerFile): Issue[] {
  const seen = new Map<string, string>();
  const issues: Issue[] = [];
  for (const [name, image] of Object.entries(file.images)) {
    const earlier = seen.get(image.path);
    if (earlier !== undefined) {
      issues.push({
        pointer: toPointer(["images", name, "path"]),
        message: `expected a file name of its own, found ${describeValue(image.path)}, the path of ${toPointer(["images", earlier])} too`,
      });
    } else seen.set(image.path, name);
  }
  return issues;
}
