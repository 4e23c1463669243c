/**
 * Canonical JSON writer: the layout of Go `encoding/json` MarshalIndent (field order from
 * the layout, maps byte-sorted, `": "` separators, `<>&` escaped as \u003c \u003e \u0026,
 * one final newline) applied to the document's own content, which is never changed:
 * nothing is added, nothing dropped, number text kept when the caller hands over the
 * lexemes the parser returned (see parse.ts).
 */
import { BootstreamError, toPointer } from "../errors.ts";
import { childLayout, type Layout, orderedKeys } from "./layout.ts";
import { type Lexemes, MAX_DEPTH, NO_LEXEMES, numberSourceText } from "./parse.ts";

export interface WriteOptions {
  /** Spaces per level; 0 writes compact output like Go json.Marshal. Default 4. */
  indent?: number;
  /** Number text by JSON pointer, as parseJsonText returned it: `1.0` stays `1.0`. */
  lexemes?: Lexemes;
  /** End with a newline, as Go's encoders do. Default true. */
  finalNewline?: boolean;
}

export const DEFAULT_INDENT = 4;
export const MAX_INDENT = 16;

const GO_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_TEXT: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON string literal escaped as Go's encoder does. */
export function goQuote(s: string): string {
  const quoted = JSON.stringify(s);
  GO_ESCAPES.lastIndex = 0;
  return GO_ESCAPES.test(quoted) ? quoted.replace(GO_ESCAPES, (c) => GO_ESCAPE_TEXT[c] ?? c) : quoted;
}

function formatNumber(n: number, lexemes: Lexemes, path: () => string): string {
  // A parsed number keeps its text, so `1e400` (Infinity to JavaScript) is written back as
  // it was read: fmt never loses or invents a value. Validation refuses it (documents.ts).
  const text = lexemes.size === 0 ? undefined : numberSourceText(lexemes, path(), n);
  if (text !== undefined) return text;
  if (!Number.isFinite(n)) {
    const at = path();
    throw new BootstreamError("INVALID_DOCUMENT", `${at}: cannot write ${n} as JSON`, { path: at });
  }
  // Go writes negative zero as -0; String(-0) would lose the sign.
  return Object.is(n, -0) ? "-0" : String(n);
}

export function writeCanonical(value: unknown, layout: Layout, options: WriteOptions = {}): string {
  const indent = options.indent ?? DEFAULT_INDENT;
  const lexemes = options.lexemes ?? NO_LEXEMES;
  if (!Number.isInteger(indent) || indent < 0 || indent > MAX_INDENT) {
    throw new BootstreamError(
      "USAGE",
      `indent must be a whole number from 0 to ${MAX_INDENT}, got ${indent}`,
    );
  }
  const unit = " ".repeat(indent);
  const colon = indent === 0 ? ":" : ": ";
  // Where the writer is, for errors; also bounds recursion for values built in code (the
  // parser already refuses deeper input), so a cycle or a deep value cannot overflow the stack.
  const path: (string | number)[] = [];
  const here = () => toPointer(path);

  function scalar(v: unknown): string | undefined {
    switch (typeof v) {
      case "string":
        return goQuote(v);
      case "number":
        return formatNumber(v, lexemes, here);
      case "boolean":
        return v ? "true" : "false";
      case "undefined":
        return undefined;
      default:
        if (v === null) return "null";
        return undefined;
    }
  }

  function write(v: unknown, lay: Layout, pad: string): string | undefined {
    if (typeof v !== "object" || v === null) {
      if (typeof v === "bigint" || typeof v === "function" || typeof v === "symbol") {
        throw new BootstreamError("INVALID_DOCUMENT", `${here()}: cannot write a ${typeof v} as JSON`, {
          path: here(),
        });
      }
      return scalar(v);
    }
    if (path.length > MAX_DEPTH) {
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${here()}: cannot write more than ${MAX_DEPTH} levels of nesting (or a value that contains itself)`,
        { path: here() },
      );
    }
    const inner = indent === 0 ? "" : `${pad}${unit}`;
    const open = indent === 0 ? "" : `\n${inner}`;
    const sep = indent === 0 ? "," : `,\n${inner}`;
    const close = indent === 0 ? "" : `\n${pad}`;
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const element = childLayout(lay, "");
      let out = "[";
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        out += (i === 0 ? open : sep) + (write(v[i], element, inner) ?? "null");
        path.pop();
      }
      return `${out + close}]`;
    }
    let out = "{";
    let first = true;
    for (const k of orderedKeys(v, lay)) {
      path.push(k);
      const text = write((v as Record<string, unknown>)[k], childLayout(lay, k), inner);
      path.pop();
      if (text === undefined) continue; // undefined fields are absent, as in JSON.stringify
      out += (first ? open : sep) + goQuote(k) + colon + text;
      first = false;
    }
    return first ? "{}" : `${out + close}}`;
  }

  const text = write(value, layout, "");
  if (text === undefined)
    throw new BootstreamError("INVALID_DOCUMENT", "nothing to write: the value is undefined");
  return options.finalNewline === false ? text : `${text}\n`;
}

/**
 * The indent width a file was written with: the leading spaces of its first indented
 * line, 0 for a single-line (compact) document, undefined when it cannot be told.
 */
export function detectIndent(text: string): number | undefined {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const nl = body.indexOf("\n");
  if (nl === -1) return body.length > 0 ? 0 : undefined;
  let spaces = 0;
  while (body.charCodeAt(nl + 1 + spaces) === 0x20) spaces++;
  if (spaces === 0 || spaces > MAX_INDENT) return undefined;
  return spaces;
}
