/**
 * A strict JSON parser that keeps what `JSON.parse` throws away.
 *
 * Written by hand because no maintained library gives all of these at once on Node 20
 * (V8 11.3 has no JSON.parse source-text access):
 * - the source text of numbers whose JS value would print differently (`1.0`, `1e3`),
 *   so `updates/*.json` round-trips byte for byte: returned beside the value as
 *   {@link Lexemes}, a map from JSON pointer to text that the writer takes explicitly;
 * - duplicate keys reported instead of silently keeping the last one;
 * - errors with a line, column and the JSON pointer of the enclosing value;
 * - a nesting limit, so hostile input cannot exhaust the stack.
 *
 * The value is plain JSON data (objects, arrays, strings, numbers, booleans, null), so
 * zod can validate it and callers can clone, spread and change it as ordinary typed values:
 * the number text does not hang on object identity, so nothing of it is lost by a copy.
 */
import { BootstreamError, toPointer } from "../errors.ts";

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Deeper than this is refused; real documents nest about 10 levels. */
export const MAX_DEPTH = 256;

/**
 * Number text by JSON pointer, for the numbers whose `String(value)` would not give their
 * source text back (`1.0`, `1e3`, `1e400`); every other number is absent.
 */
export type Lexemes = ReadonlyMap<string, string>;

export const NO_LEXEMES: Lexemes = new Map();

/**
 * The text to write for the number `value` found at `pointer`: its lexeme when it has one
 * and the value is still the one it was read as (a number changed since parsing is written
 * as the new value), else undefined.
 */
export function numberSourceText(lexemes: Lexemes, pointer: string, value: number): string | undefined {
  const text = lexemes.get(pointer);
  return text !== undefined && Number(text) === value ? text : undefined;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Half a surrogate pair with no other half: not text (Go decodes it as U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

class Parser {
  private pos = 0;
  private readonly path: (string | number)[] = [];
  readonly lexemes = new Map<string, string>();

  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    this.skipWhitespace();
    if (this.pos >= this.text.length) this.fail("expected a JSON value, found an empty document");
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      this.fail(`expected end of document, found ${this.describeHere()}`);
    }
    return value;
  }

  private parseValue(depth: number): JsonValue {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(depth + 1);
      case 0x5b /* [ */:
        return this.parseArray(depth + 1);
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.parseLiteral("true", true);
      case 0x66 /* f */:
        return this.parseLiteral("false", false);
      case 0x6e /* n */:
        return this.parseLiteral("null", null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail(`expected a JSON value, found ${this.describeHere()}`);
    }
  }

  private parseObject(depth: number): JsonObject {
    if (depth > MAX_DEPTH) this.fail(`expected at most ${MAX_DEPTH} levels of nesting, found deeper input`);
    const obj: JsonObject = {};
    this.pos++; // {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) {
        this.fail(`expected a string key in object, found ${this.describeHere()}`);
      }
      const keyStart = this.pos;
      const key = this.parseString();
      if (Object.hasOwn(obj, key)) {
        this.pos = keyStart;
        this.path.push(key);
        this.fail(`expected unique keys, found key ${JSON.stringify(key)} twice`);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a)
        this.fail(`expected ":" after key, found ${this.describeHere()}`);
      this.pos++;
      this.skipWhitespace();
      this.path.push(key);
      const value = this.parseValue(depth);
      this.path.pop();
      // defineProperty so that a "__proto__" key becomes data, as with JSON.parse.
      if (key === "__proto__") {
        Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        obj[key] = value;
      }
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return obj;
      }
      this.fail(`expected "," or "}" in object, found ${this.describeHere()}`);
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail(`expected at most ${MAX_DEPTH} levels of nesting, found deeper input`);
    const arr: JsonValue[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return arr;
    }
    for (;;) {
      this.skipWhitespace();
      this.path.push(arr.length);
      const value = this.parseValue(depth);
      this.path.pop();
      arr.push(value);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return arr;
      }
      this.fail(`expected "," or "]" in array, found ${this.describeHere()}`);
    }
  }

  private parseNumber(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail(`expected a number, found ${this.describeHere()}`);
    this.pos += m[0].length;
    const value = Number(m[0]);
    if (String(value) !== m[0]) this.lexemes.set(toPointer(this.path), m[0]);
    return value;
  }

  private parseLiteral<T extends JsonPrimitive>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos))
      this.fail(`expected a JSON value, found ${this.describeHere()}`);
    this.pos += word.length;
    return value;
  }

  private parseString(): string {
    const text = this.text;
    const start = ++this.pos; // opening quote
    // Fast path: no escapes, which is almost every string in these documents.
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return text.slice(start, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail(`expected a string without raw control characters, found U+${hex4(c)}`);
      }
    }
    return this.parseEscapedString(start);
  }

  private parseEscapedString(start: number): string {
    const text = this.text;
    let out = "";
    let i = start;
    for (;;) {
      if (i >= text.length) {
        this.pos = i;
        this.fail("expected a closing quote, found the end of the document");
      }
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        // As Go's decoder does: a \u escape of half a surrogate pair becomes U+FFFD.
        return out.replace(LONE_SURROGATE, "\uFFFD");
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail(`expected a string without raw control characters, found U+${hex4(c)}`);
      }
      if (c !== 0x5c) {
        out += text[i];
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const digits = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
            this.pos = i - 2;
            this.fail(`expected 4 hex digits after \\u, found ${JSON.stringify(digits)}`);
          }
          out += String.fromCharCode(Number.parseInt(digits, 16));
          i += 4;
          break;
        }
        default:
          this.pos = i - 2;
          this.fail(`expected a valid escape sequence, found \\${e ?? "end of document"}`);
      }
    }
  }

  private skipWhitespace(): void {
    const text = this.text;
    let i = this.pos;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return "the end of the document (truncated?)";
    const ch = this.text.codePointAt(this.pos) ?? 0;
    if (ch < 0x20 || (ch >= 0x7f && ch <= 0x9f)) return `character U+${hex4(ch)}`;
    return JSON.stringify(String.fromCodePoint(ch));
  }

  private fail(message: string): never {
    const { line, column } = lineAndColumn(this.text, this.pos);
    throw new BootstreamError("INVALID_DOCUMENT", `${message} at line ${line} column ${column}`, {
      path: toPointer(this.path),
      issues: [
        {
          pointer: toPointer(this.path),
          message: `${message} at line ${line} column ${column}`,
          line,
          column,
        },
      ],
    });
  }
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, "0");
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parses JSON text. Throws BootstreamError INVALID_DOCUMENT with line, column and pointer. */
export function parseJson(text: string): JsonValue {
  return new Parser(text).parseDocument();
}

/** Parses JSON text into its value and the number text the value alone cannot give back. */
export function parseJsonText(text: string): { value: JsonValue; lexemes: Lexemes } {
  const parser = new Parser(text);
  const value = parser.parseDocument();
  return { value, lexemes: parser.lexemes };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Decodes bytes as UTF-8 text for parsing. Refuses non-UTF-8 input with the offset of the
 * first bad byte (JSON must be UTF-8, RFC 8259 section 8.1). A leading BOM is skipped.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    const offset = firstInvalidUtf8Offset(bytes);
    const byte = (bytes[offset] ?? 0).toString(16).padStart(2, "0");
    const message = `expected UTF-8 text, found an invalid byte 0x${byte} at byte offset ${offset}`;
    throw new BootstreamError("INVALID_DOCUMENT", message, { cause, issues: [{ pointer: "", message }] });
  }
}

const utf8KeepingBom = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 bytes of a text file (YAML, AsciiDoc, Markdown) as text, a byte-order mark kept, so a
 * rewrite gives every other byte back; invalid UTF-8 is INVALID_DOCUMENT naming `name` and the
 * line, which an editor can jump to.
 */
export function decodeUtf8Text(bytes: Uint8Array, name: string): string {
  try {
    return utf8KeepingBom.decode(bytes);
  } catch (cause) {
    const offset = firstInvalidUtf8Offset(bytes);
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) line++;
    throw new BootstreamError("INVALID_DOCUMENT", `${name}:${line}: expected UTF-8 text`, {
      path: name,
      cause,
    });
  }
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const need =
      b < 0x80
        ? 0
        : b >= 0xc2 && b <= 0xdf
          ? 1
          : b >= 0xe0 && b <= 0xef
            ? 2
            : b >= 0xf0 && b <= 0xf4
              ? 3
              : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const cont = bytes[i + k];
      if (cont === undefined || (cont & 0xc0) !== 0x80) return i;
    }
    // Overlong forms and surrogates are caught by the second byte's range.
    const b1 = bytes[i + 1] ?? 0;
    if (
      (b === 0xe0 && b1 < 0xa0) ||
      (b === 0xed && b1 > 0x9f) ||
      (b === 0xf0 && b1 < 0x90) ||
      (b === 0xf4 && b1 > 0x8f)
    ) {
      return i;
    }
    i += need + 1;
  }
  return i;
}
