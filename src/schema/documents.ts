/**
 * The document kinds bootstream knows, how to tell them apart, and how to validate one
 * into a list of located issues.
 */
import type { z } from "zod";
import { type Layout, layoutOf, PRESERVE } from "../canonical/layout.ts";
import { type Lexemes, NO_LEXEMES, numberSourceText } from "../canonical/parse.ts";
import { BootstreamError, type Issue, toPointer } from "../errors.ts";
import { buildMetaSchema } from "./build-meta.ts";
import { releaseConsistency, releaseIndexConsistency } from "./consistency.ts";
import { type Release, releaseSchema } from "./release.ts";
import { type ReleaseIndex, releaseIndexSchema } from "./release-index.ts";
import { streamSchema } from "./stream.ts";
import { quoted } from "./text.ts";
import { updatesSchema } from "./updates.ts";

export const DOCUMENT_KINDS = ["stream", "release", "release-index", "updates", "build-meta"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export interface KindSpec {
  readonly kind: DocumentKind;
  readonly title: string;
  readonly schema: z.ZodType;
  /** Field layout derived from the schema (key order, and what counts as unknown). */
  readonly layout: Layout;
  /** How canonical output orders keys: the schema's Go order, or the producer's own order. */
  readonly writeLayout: Layout;
  /** Indent used when a document of this kind is written from scratch. */
  readonly defaultIndent: number;
  /**
   * Whether the canonical text ends with a newline: Go's encoders (and the FCOS tools) end
   * with one; coreos-assembler writes meta.json with Python's json.dump(indent=4), which never
   * does, so a real meta.json is canonical as cosa wrote it.
   */
  readonly finalNewline: boolean;
}

export const KINDS: Readonly<Record<DocumentKind, KindSpec>> = {
  stream: {
    kind: "stream",
    title: "stream.json",
    schema: streamSchema,
    layout: layoutOf(streamSchema),
    writeLayout: layoutOf(streamSchema),
    defaultIndent: 4,
    finalNewline: true,
  },
  release: {
    kind: "release",
    title: "release.json",
    schema: releaseSchema,
    layout: layoutOf(releaseSchema),
    writeLayout: layoutOf(releaseSchema),
    defaultIndent: 2,
    finalNewline: true,
  },
  "release-index": {
    kind: "release-index",
    title: "releases.json (release index)",
    schema: releaseIndexSchema,
    layout: layoutOf(releaseIndexSchema),
    writeLayout: layoutOf(releaseIndexSchema),
    defaultIndent: 2,
    finalNewline: true,
  },
  updates: {
    kind: "updates",
    title: "updates/<stream>.json (update graph hints)",
    schema: updatesSchema,
    layout: layoutOf(updatesSchema),
    writeLayout: layoutOf(updatesSchema),
    defaultIndent: 2,
    finalNewline: true,
  },
  "build-meta": {
    kind: "build-meta",
    title: "coreos-assembler build meta.json",
    schema: buildMetaSchema,
    layout: layoutOf(buildMetaSchema),
    writeLayout: PRESERVE,
    defaultIndent: 4,
    finalNewline: false,
  },
};

export const UNKNOWN_KIND_PREFIX = "cannot tell the document kind";

export function isDocumentKind(value: string): value is DocumentKind {
  return (DOCUMENT_KINDS as readonly string[]).includes(value);
}

/**
 * Tells the kind from the top-level shape; undefined when nothing matches, or when the shape
 * is one of the foreign formats (detectForeignFormat), which are no kind of bootstream's.
 */
export function detectKind(value: unknown): DocumentKind | undefined {
  if (!isPlainObject(value) || detectForeignFormat(value) !== undefined) return undefined;
  if ("architectures" in value) {
    if ("release" in value) return "release";
    const arches = value.architectures;
    if (isPlainObject(arches)) {
      for (const arch of Object.values(arches)) {
        if (isPlainObject(arch) && "media" in arch) return "release";
      }
    }
    return "stream";
  }
  if (Array.isArray(value.releases)) {
    if ("note" in value) return "release-index";
    const first = value.releases[0];
    if (
      isPlainObject(first) &&
      (typeof first.metadata === "string" || "commits" in first || "oci-images" in first)
    ) {
      return "release-index";
    }
    return "updates";
  }
  if ("buildid" in value || "ostree-commit" in value) return "build-meta";
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Documents of the CoreOS world that are not a kind bootstream reads, recognised by shape so
 * that kind detection names them instead of misreading them (the pre-4.8 installer file was
 * taken for a build meta.json with 20 field errors):
 *
 * - the 2019 update hints of fedora-coreos-streams: a single top-level `updates` holding
 *   `barriers`, `deadends` and `rollouts`, replaced in September 2019 by updates/<stream>.json
 *   with `stream`, `metadata` and `releases` (the "updates" kind);
 * - the installer's marketplace file (openshift/installer data/data/coreos/marketplace-rhcos.json):
 *   `{ARCH: {azure: …}}`, per architecture the content of a stream's
 *   `rhel-coreos-extensions.marketplace`;
 * - the installer format before streams (openshift/installer data/data/rhcos.json in 4.1 to
 *   4.5, data/data/rhcos-<arch>.json in 4.3 to 4.8, beside the first stream in 4.8): one
 *   build's `amis`, `baseURI`, `buildid` and `images`, which predates stream metadata.
 *
 * Messages about them start with FOREIGN_FORMAT_PREFIX (kind detection's UNKNOWN_KIND).
 */
export const FOREIGN_FORMAT_PREFIX = "not a document kind bootstream reads";

export type ForeignFormat = "updates-2019" | "installer-marketplace" | "installer-pre-4.8";

const ARCH_NAME = /^[a-z][a-z0-9_]*$/;
const MARKETPLACE_PLATFORMS = new Set(["azure"]);

/** Which foreign format `value` is, by its top-level shape; undefined for anything else. */
export function detectForeignFormat(value: unknown): ForeignFormat | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length === 1 && isPlainObject(value.updates)) return "updates-2019";
  if ("baseURI" in value && "buildid" in value && "images" in value) return "installer-pre-4.8";
  if (
    keys.length > 0 &&
    keys.every((arch) => {
      const entry = value[arch];
      return (
        ARCH_NAME.test(arch) &&
        isPlainObject(entry) &&
        Object.keys(entry).length > 0 &&
        Object.keys(entry).every((platform) => MARKETPLACE_PLATFORMS.has(platform))
      );
    })
  )
    return "installer-marketplace";
  return undefined;
}

const DESCRIPTIONS: Record<ForeignFormat, string> = {
  "updates-2019":
    "this is the 2019 update-hints format of fedora-coreos-streams (a single top-level " +
    '"updates" with barriers, deadends and rollouts), replaced in September 2019 by ' +
    "updates/<stream>.json with stream, metadata and releases (kind updates)",
  "installer-marketplace":
    "this is the installer's marketplace file (openshift/installer marketplace-rhcos.json: " +
    "per architecture, the content of a stream's rhel-coreos-extensions.marketplace), not a " +
    "document of its own; a stream carries it under architectures.<arch>.rhel-coreos-extensions.marketplace",
  "installer-pre-4.8":
    "this is the pre-4.8 installer format (openshift/installer data/data/rhcos.json or rhcos-<arch>.json, 4.1 to 4.8: " +
    "amis, baseURI, buildid, images of one build), not a stream nor a build meta.json; " +
    "`bootstream convert legacy` converts it into a stream",
};

/** The message kind detection gives for a foreign format. */
export function foreignFormatMessage(format: ForeignFormat): string {
  return `${FOREIGN_FORMAT_PREFIX}: ${DESCRIPTIONS[format]}`;
}

/**
 * Picks the kind: the one asked for, else the detected one, else UNKNOWN_KIND (naming the
 * foreign format when it is one).
 */
export function resolveKind(value: unknown, requested?: DocumentKind): DocumentKind {
  if (requested !== undefined) return requested;
  if (!isPlainObject(value)) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `expected a JSON object at the top level, found ${describeValue(value)}`,
      {
        path: "",
        issues: [
          { pointer: "", message: `expected a JSON object at the top level, found ${describeValue(value)}` },
        ],
      },
    );
  }
  const foreign = detectForeignFormat(value);
  if (foreign !== undefined) {
    const message = foreignFormatMessage(foreign);
    throw new BootstreamError("UNKNOWN_KIND", message, { path: "", issues: [{ pointer: "", message }] });
  }
  const kind = detectKind(value);
  if (kind === undefined) {
    const keys = Object.keys(value)
      .slice(0, 6)
      .map((k) => JSON.stringify(k));
    const message =
      `${UNKNOWN_KIND_PREFIX}: expected the top-level keys of a stream (stream, metadata, architectures), ` +
      "release (release, stream, architectures), release index (note, releases), updates (stream, releases) " +
      `or build meta (buildid, ostree-commit), found ${keys.length === 0 ? "no keys" : keys.join(", ")}; pass --kind`;
    throw new BootstreamError("UNKNOWN_KIND", message, { path: "", issues: [{ pointer: "", message }] });
  }
  return kind;
}

export interface ValidateOptions {
  /** Also report fields no schema knows (they are kept either way). */
  strict?: boolean;
  /** Number text by JSON pointer (parseJsonText), so a refused `1e400` is named as written. */
  lexemes?: Lexemes;
}

/** Every problem in `value` as a document of `kind`; empty when valid. */
export function validateValue(value: unknown, kind: DocumentKind, options: ValidateOptions = {}): Issue[] {
  const spec = KINDS[kind];
  const result = spec.schema.safeParse(value);
  const issues = result.success
    ? consistencyIssues(value, kind)
    : result.error.issues.map((issue) => toIssue(issue, value));
  const located = new Set(issues.map((i) => i.pointer));
  for (const issue of unreadableValues(value, options.lexemes ?? NO_LEXEMES))
    if (!located.has(issue.pointer)) issues.push(issue);
  if (options.strict) issues.push(...unknownFields(value, spec.layout));
  return issues;
}

function consistencyIssues(value: unknown, kind: DocumentKind): Issue[] {
  if (kind === "release") return releaseConsistency(value as Release);
  if (kind === "release-index") return releaseIndexConsistency(value as ReleaseIndex);
  return [];
}

type ZodIssue = z.core.$ZodIssue;

function toIssue(issue: ZodIssue, root: unknown): Issue {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const pointer = toPointer(path);
  const found = valueAt(root, path);
  switch (issue.code) {
    case "invalid_type":
      return { pointer, message: `expected ${withArticle(issue.expected)}, found ${describeValue(found)}` };
    case "invalid_key": {
      const inner = issue.issues[0];
      const expectation = inner === undefined ? "a valid key" : expectationOf(inner);
      return {
        pointer,
        message: `expected a key that is ${expectation}, found key ${quoted(String(path.at(-1)))}`,
      };
    }
    case "invalid_value":
      return {
        pointer,
        message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, found ${describeValue(found)}`,
      };
    default:
      return { pointer, message: `expected ${expectationOf(issue)}, found ${describeValue(found)}` };
  }
}

/** Our schemas carry the expectation as the message; zod's defaults get reworded. */
function expectationOf(issue: {
  code?: string;
  message: string;
  minimum?: unknown;
  maximum?: unknown;
}): string {
  const m = issue.message;
  if (!/^(Invalid|Too (small|big)|Expected)/.test(m)) return m;
  if (issue.code === "too_small") return `at least ${String(issue.minimum)}`;
  if (issue.code === "too_big") return `at most ${String(issue.maximum)}`;
  return m.replace(/^Invalid input: /, "").replace(/^expected /, "");
}

function withArticle(type: string): string {
  if (type === "object" || type === "array") return `an ${type}`;
  if (type === "nonoptional") return "a value";
  return `a ${type}`;
}

export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = root;
  for (const token of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = Object.hasOwn(v, token) ? (v as Record<string | number, unknown>)[token] : undefined;
  }
  return v;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : `an array of ${value.length}`;
  switch (typeof value) {
    case "string": {
      if (value === "") return 'an empty string ""';
      const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
      return quoted(shown);
    }
    case "object":
      return "an object";
    default:
      return String(value);
  }
}

function unknownFields(value: unknown, layout: Layout): Issue[] {
  const out: Issue[] = [];
  const walk = (v: unknown, lay: Layout, path: (string | number)[]): void => {
    if (typeof v !== "object" || v === null) return;
    if (lay.kind === "array" && Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, lay.element, [...path, i]);
      });
    } else if (lay.kind === "map" && !Array.isArray(v)) {
      for (const [k, item] of Object.entries(v)) walk(item, lay.value, [...path, k]);
    } else if (lay.kind === "struct" && !Array.isArray(v)) {
      for (const [k, item] of Object.entries(v)) {
        const field = lay.fields.get(k);
        if (field === undefined) {
          out.push({
            pointer: toPointer([...path, k]),
            message: `expected only known fields, found unknown field ${quoted(k)}`,
          });
        } else {
          walk(item, field, [...path, k]);
        }
      }
    }
  };
  walk(value, layout, []);
  return out;
}

/**
 * Values consumers cannot read the way they were written, anywhere, even in unknown fields:
 * - numbers out of double range (`1e400`): JavaScript reads them as Infinity, which no JSON
 *   writer can write back, and Go's decoder refuses them;
 * - `__proto__` keys: zod skips them (so a region named `__proto__` would never be checked)
 *   and a JavaScript consumer that copies the object sets a prototype instead.
 * Either would validate here and break, or fool, every consumer. Walked without recursion,
 * so a value handed in by a library caller cannot exhaust the stack either.
 */
function unreadableValues(root: unknown, lexemes: Lexemes): Issue[] {
  const out: Issue[] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  const seen = new Set<object>();
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path } = item;
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    seen.add(value);
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (const [key, child] of entries) {
      if (key === "__proto__")
        out.push({
          pointer: toPointer([...path, key]),
          message: 'expected a key other than "__proto__" (JavaScript objects and schema checks skip it)',
        });
      if (typeof child === "number" && !Number.isFinite(child)) {
        const pointer = toPointer([...path, key]);
        const text = numberSourceText(lexemes, pointer, child) ?? String(child);
        out.push({
          pointer,
          message: `expected a number within double range (JSON readers in Go and JavaScript cannot hold it), found ${text}`,
        });
      } else if (typeof child === "object" && child !== null) {
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return out.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

/** Whether an issue's message is kind detection's (UNKNOWN_KIND), not a field's. */
export function isUnknownKindMessage(message: string): boolean {
  return message.startsWith(UNKNOWN_KIND_PREFIX) || message.startsWith(FOREIGN_FORMAT_PREFIX);
}
