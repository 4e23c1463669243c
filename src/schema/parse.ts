/**
 * Text or bytes in, typed document out: decode, parse, detect the kind, validate.
 * The returned data is the parsed value itself (zod only checks it), so unknown fields
 * survive for the canonical writer; the number text JavaScript numbers cannot give back
 * (`1.0`) travels beside it as lexemes, and the canonical text is written once, from both.
 */
import { decodeUtf8, type Lexemes, NO_LEXEMES, parseJsonText } from "../canonical/parse.ts";
import { detectIndent, writeCanonical } from "../canonical/write.ts";
import { BootstreamError, type Issue } from "../errors.ts";
import type { BuildMeta } from "./build-meta.ts";
import {
  type DocumentKind,
  isUnknownKindMessage,
  KINDS,
  resolveKind,
  type ValidateOptions,
  validateValue,
} from "./documents.ts";
import type { Release } from "./release.ts";
import type { ReleaseIndex } from "./release-index.ts";
import type { Stream } from "./stream.ts";
import { printable } from "./text.ts";
import type { Updates } from "./updates.ts";

export interface DocumentTypes {
  stream: Stream;
  release: Release;
  "release-index": ReleaseIndex;
  updates: Updates;
  "build-meta": BuildMeta;
}

export type AnyDocument = { [K in DocumentKind]: { kind: K; data: DocumentTypes[K] } }[DocumentKind];

/**
 * A document parsed once and carried whole: lint, publish, the store and serve take this
 * value instead of decoding, validating or canonicalising the bytes again.
 */
export type ParsedDocument<K extends DocumentKind = DocumentKind> = {
  [P in K]: {
    readonly kind: P;
    readonly data: DocumentTypes[P];
    /** The decoded source text; undefined when the document was handed in as a value. */
    readonly text: string | undefined;
    /** Number text by JSON pointer, for the writer (see parseJsonText). */
    readonly lexemes: Lexemes;
    /** Indent width of the source text (0 = compact), if it could be told. */
    readonly indent: number | undefined;
    /** The canonical text in the document's own indent (else its kind's), written on first use. */
    readonly canonical: string;
  };
}[K];

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
  /** Number text by JSON pointer (empty when the input was a value). */
  lexemes: Lexemes;
  issues: Issue[];
}

/** A decoded document: its source text, value, number text and indent width. */
export interface DecodedDocument {
  text: string;
  value: unknown;
  lexemes: Lexemes;
  indent: number | undefined;
}

/** JSON text (or its UTF-8 bytes) as a value, with the text, its number text and its indent width. */
export function decodeDocument(input: string | Uint8Array): DecodedDocument {
  const text = typeof input === "string" ? input : decodeUtf8(input);
  // A leading byte order mark is not JSON (RFC 8259 8.1) but harmless; fmt drops it.
  const { value, lexemes } = parseJsonText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return { text, value, lexemes, indent: detectIndent(text) };
}

const DECODED = Symbol("decoded document");

/** A document decoded already (the trust checks decode a stream before the command parses it). */
export interface DecodedInput {
  readonly [DECODED]: DecodedDocument;
}

/** Hands a decoded document to checkDocument/parseDocument without decoding its text again. */
export const alreadyDecoded = (decoded: DecodedDocument): DecodedInput => ({ [DECODED]: decoded });

function toValue(input: DocumentInput): {
  value: unknown;
  lexemes: Lexemes;
  indent: number | undefined;
  text: string | undefined;
} {
  if (typeof input === "string" || input instanceof Uint8Array) return decodeDocument(input);
  if (DECODED in input) return (input as DecodedInput)[DECODED];
  return { value: input, lexemes: NO_LEXEMES, indent: undefined, text: undefined };
}

/** Parses and validates, returning every issue instead of throwing on invalid content. */
export function checkDocument(input: DocumentInput, options: ParseOptions = {}): CheckResult {
  let value: unknown;
  let lexemes: Lexemes = NO_LEXEMES;
  let indent: number | undefined;
  let text: string | undefined;
  let kind: DocumentKind | undefined;
  try {
    ({ value, lexemes, indent, text } = toValue(input));
    kind = resolveKind(value, options.kind);
  } catch (error) {
    if (error instanceof BootstreamError && error.issues.length > 0) {
      return { kind, data: value, indent, text, lexemes, issues: [...error.issues] };
    }
    throw error;
  }
  const issues = validateValue(value, kind, { ...options, lexemes });
  return { kind, data: value, indent, text, lexemes, issues };
}

/** The error for a document with issues; `name` (a file or URL) prefixes the message. */
export function invalidDocumentError(issues: readonly Issue[], name?: string): BootstreamError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const code =
    first !== undefined && isUnknownKindMessage(first.message) ? "UNKNOWN_KIND" : "INVALID_DOCUMENT";
  const where = name === undefined ? "" : `${name}: `;
  return new BootstreamError(
    code,
    `${where}${printable(first?.pointer || "/")}: ${first?.message ?? "invalid document"}${more}`,
    {
      path: first?.pointer ?? "",
      issues,
    },
  );
}

/** The parsed document of a check without issues; throws the located error otherwise. */
export function acceptDocument(result: CheckResult, name?: string): ParsedDocument {
  if (result.kind === undefined || result.issues.length > 0) throw invalidDocumentError(result.issues, name);
  return parsedDocument(result.kind, result.data, result);
}

/** A document of `kind` (valid, or checked by the caller) with what it was parsed from. */
function parsedDocument(
  kind: DocumentKind,
  data: unknown,
  from: { text: string | undefined; lexemes: Lexemes; indent: number | undefined },
): ParsedDocument {
  let canonical: string | undefined;
  const doc = {
    kind,
    data,
    text: from.text,
    lexemes: from.lexemes,
    indent: from.indent,
    get canonical(): string {
      canonical ??= canonicalize(doc);
      return canonical;
    },
  };
  return doc as ParsedDocument;
}

/** Parses any known document kind (detected, or `options.kind`). Throws INVALID_DOCUMENT with every issue. */
export function parseDocument(input: DocumentInput, options: ParseOptions = {}): ParsedDocument {
  return acceptDocument(checkDocument(input, options));
}

/** Parses and validates as `kind`, keeping the whole parsed document (text, lexemes, canonical text). */
export function parseDocumentAs<K extends DocumentKind>(
  kind: K,
  input: DocumentInput,
  options: ValidateOptions & { name?: string } = {},
): ParsedDocument<K> {
  const { name, ...validate } = options;
  return acceptDocument(checkDocument(input, { ...validate, kind }), name) as ParsedDocument<K>;
}

function parseAs<K extends DocumentKind>(kind: K, input: DocumentInput): DocumentTypes[K] {
  return parseDocumentAs(kind, input).data;
}

export const parseStream = (input: DocumentInput): Stream => parseAs("stream", input);
export const parseRelease = (input: DocumentInput): Release => parseAs("release", input);
export const parseReleaseIndex = (input: DocumentInput): ReleaseIndex => parseAs("release-index", input);
export const parseUpdates = (input: DocumentInput): Updates => parseAs("updates", input);
export const parseBuildMeta = (input: DocumentInput): BuildMeta => parseAs("build-meta", input);

/** What the canonical writer needs of a document: its kind, value, number text and indent. */
export interface Canonicalizable {
  kind: DocumentKind;
  data: unknown;
  lexemes?: Lexemes;
  indent?: number | undefined;
}

/**
 * The one canonical writer of documents: Go encoding/json order and layout of `doc.kind`,
 * the value's own content and number text, in `options.indent`, else the document's own
 * indent, else its kind's usual one. Does not validate (fmt formats what it can parse).
 */
export function canonicalize(doc: Canonicalizable, options: { indent?: number } = {}): string {
  const spec = KINDS[doc.kind];
  return writeCanonical(doc.data, spec.writeLayout, {
    indent: options.indent ?? doc.indent ?? spec.defaultIndent,
    lexemes: doc.lexemes ?? NO_LEXEMES,
    // As the producer writes it: cosa's json.dump(indent=4) ends meta.json without a newline.
    finalNewline: spec.finalNewline,
  });
}

export interface CanonicalOptions {
  /** Document kind; detected from the value when absent. */
  kind?: DocumentKind;
  /** Spaces per level (0 = compact); default: the kind's usual indent (4 for streams). */
  indent?: number;
  /**
   * Number text by JSON pointer, from the ParsedDocument the value came from (a plain value
   * carries none: `1.0` would be written `1`).
   */
  lexemes?: Lexemes;
}

/**
 * The canonical text of a document: Go encoding/json order and layout, the value's own
 * content, one trailing newline. Does not validate; use parseDocument first for that.
 */
export function toCanonicalJSON(value: unknown, options: CanonicalOptions = {}): string {
  const kind = resolveKind(value, options.kind);
  return canonicalize(
    { kind, data: value, ...(options.lexemes ? { lexemes: options.lexemes } : {}) },
    options.indent === undefined ? {} : { indent: options.indent },
  );
}
