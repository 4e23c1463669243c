/**
 * Text or bytes in, typed document out: decode, parse, detect the kind, validate.
 * The returned data is the parsed value itself (zod only checks it), so unknown fields
 * and number text survive for the canonical writer.
 */
import { decodeUtf8, parseJson } from "../canonical/parse.ts";
import { detectIndent, writeCanonical } from "../canonical/write.ts";
import { BootstreamError, type Issue } from "../errors.ts";
import type { BuildMeta } from "./build-meta.ts";
import {
  type DocumentKind,
  KINDS,
  resolveKind,
  UNKNOWN_KIND_PREFIX,
  type ValidateOptions,
  validateValue,
} from "./documents.ts";
import type { Release } from "./release.ts";
import type { ReleaseIndex } from "./release-index.ts";
import type { Stream } from "./stream.ts";
import type { Updates } from "./updates.ts";

export interface DocumentTypes {
  stream: Stream;
  release: Release;
  "release-index": ReleaseIndex;
  updates: Updates;
  "build-meta": BuildMeta;
}

export type AnyDocument = { [K in DocumentKind]: { kind: K; data: DocumentTypes[K] } }[DocumentKind];

export type ParsedDocument = AnyDocument & {
  /** Indent width of the source text (0 = compact), if it could be told. */
  indent: number | undefined;
};

/** Input accepted by the parse functions: JSON text, its UTF-8 bytes, or an already parsed value. */
export type DocumentInput = string | Uint8Array | object;

export interface ParseOptions extends ValidateOptions {
  /** Skip detection and validate as this kind. */
  kind?: DocumentKind;
}

/** Outcome of checking one document without throwing: what `validate` reports. */
export interface CheckResult {
  kind: DocumentKind | undefined;
  data: unknown;
  indent: number | undefined;
  /** The decoded source text, when the input was text or bytes. */
  text: string | undefined;
  issues: Issue[];
}

/** JSON text (or its UTF-8 bytes) as a value, with the text and its indent width. */
export function decodeDocument(input: string | Uint8Array): {
  text: string;
  value: unknown;
  indent: number | undefined;
} {
  const text = typeof input === "string" ? input : decodeUtf8(input);
  // A leading byte order mark is not JSON (RFC 8259 8.1) but harmless; fmt drops it.
  const value = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return { text, value, indent: detectIndent(text) };
}

function toValue(input: DocumentInput): {
  value: unknown;
  indent: number | undefined;
  text: string | undefined;
} {
  if (typeof input === "string" || input instanceof Uint8Array) return decodeDocument(input);
  return { value: input, indent: undefined, text: undefined };
}

/** Parses and validates, returning every issue instead of throwing on invalid content. */
export function checkDocument(input: DocumentInput, options: ParseOptions = {}): CheckResult {
  let value: unknown;
  let indent: number | undefined;
  let text: string | undefined;
  let kind: DocumentKind | undefined;
  try {
    ({ value, indent, text } = toValue(input));
    kind = resolveKind(value, options.kind);
  } catch (error) {
    if (error instanceof BootstreamError && error.issues.length > 0) {
      return { kind, data: value, indent, text, issues: [...error.issues] };
    }
    throw error;
  }
  return { kind, data: value, indent, text, issues: validateValue(value, kind, options) };
}

/** The error for a document with issues; `name` (a file or URL) prefixes the message. */
export function invalidDocumentError(issues: readonly Issue[], name?: string): BootstreamError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const code = first?.message.startsWith(UNKNOWN_KIND_PREFIX) ? "UNKNOWN_KIND" : "INVALID_DOCUMENT";
  const where = name === undefined ? "" : `${name}: `;
  return new BootstreamError(
    code,
    `${where}${first?.pointer || "/"}: ${first?.message ?? "invalid document"}${more}`,
    {
      path: first?.pointer ?? "",
      issues,
    },
  );
}

/** The parsed document of a check without issues; throws the located error otherwise. */
export function acceptDocument(result: CheckResult, name?: string): ParsedDocument {
  if (result.kind === undefined || result.issues.length > 0) throw invalidDocumentError(result.issues, name);
  return { kind: result.kind, data: result.data, indent: result.indent } as ParsedDocument;
}

/** Parses any known document kind (detected, or `options.kind`). Throws INVALID_DOCUMENT with every issue. */
export function parseDocument(input: DocumentInput, options: ParseOptions = {}): ParsedDocument {
  return acceptDocument(checkDocument(input, options));
}

function parseAs<K extends DocumentKind>(kind: K, input: DocumentInput): DocumentTypes[K] {
  return parseDocument(input, { kind }).data as DocumentTypes[K];
}

export const parseStream = (input: DocumentInput): Stream => parseAs("stream", input);
export const parseRelease = (input: DocumentInput): Release => parseAs("release", input);
export const parseReleaseIndex = (input: DocumentInput): ReleaseIndex => parseAs("release-index", input);
export const parseUpdates = (input: DocumentInput): Updates => parseAs("updates", input);
export const parseBuildMeta = (input: DocumentInput): BuildMeta => parseAs("build-meta", input);

export interface CanonicalOptions {
  /** Document kind; detected from the value when absent. */
  kind?: DocumentKind;
  /** Spaces per level (0 = compact); default: the kind's usual indent (4 for streams). */
  indent?: number;
}

/**
 * The canonical text of a document: Go encoding/json order and layout, the value's own
 * content, one trailing newline. Does not validate; use parseDocument first for that.
 */
export function toCanonicalJSON(value: unknown, options: CanonicalOptions = {}): string {
  const spec = KINDS[resolveKind(value, options.kind)];
  return writeCanonical(value, spec.writeLayout, { indent: options.indent ?? spec.defaultIndent });
}
