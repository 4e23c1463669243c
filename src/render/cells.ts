/**
 * One value in one table cell, per format, and back. Values come from streams, which may be
 * hostile: a value must stay inside its cell (no `|` that opens the next one, no backtick
 * that ends the code span, no `<` that starts markup), must not turn into other markup
 * (AsciiDoc's `_x_`, `--`, `{attribute}`), and must read back as exactly the same string,
 * which is how `--check` compares a document with the stream.
 */
import { hasControlCharacter, printable } from "../schema/text.ts";

/**
 * Values written as they are, in code (backticks): ids, regions, URLs, digests. Characters
 * that AsciiDoc or Markdown treat as markup anywhere (`*`, `#`, `~`, `^`, `+`, `'`, quotes,
 * brackets, braces, `<`, `>`, `&`, `|`, backslash, backtick) are not in the set.
 */
const PLAIN = /^[A-Za-z0-9](?:[A-Za-z0-9._:/@%=?, -]*[A-Za-z0-9._:/@%=?,-])?$/;
/** AsciiDoc's replacements (`--` to a dash, `...` to an ellipsis) and constrained `_emphasis_`. */
const REPLACED = /--|\.\.\.|[^A-Za-z0-9]_|_[^A-Za-z0-9]|_$/;

/** Whether `value` can be written verbatim in a code span in AsciiDoc and Markdown. */
export function isPlainValue(value: string): boolean {
  return PLAIN.test(value) && !REPLACED.test(value);
}

/** Every character but letters and digits as a numeric character reference (`&#124;`). */
function numericReferences(value: string): string {
  let out = "";
  for (const ch of value) out += /[A-Za-z0-9]/.test(ch) ? ch : `&#${ch.codePointAt(0)};`;
  return out;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes numeric and the basic named character references. */
export function decodeReferences(text: string): string {
  return text.replace(
    /&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|(amp|lt|gt|quot|apos));/g,
    (all, dec, hex, name) => {
      const code = dec !== undefined ? Number(dec) : hex !== undefined ? Number.parseInt(hex, 16) : undefined;
      if (code === undefined) return NAMED[name as string] ?? all;
      return code <= 0x10ffff ? String.fromCodePoint(code) : all;
    },
  );
}

/**
 * An AsciiDoc cell's content: `` `value` `` like the OpenShift docs, or for any other value
 * `` `pass:[&#...;]` ``: a passthrough without substitutions whose every special character is
 * a character reference, valid in the HTML and DocBook that Asciidoctor writes.
 */
export function asciidocCell(value: string): string {
  if (value === "") return "";
  return isPlainValue(value) ? `\`${value}\`` : `\`pass:[${numericReferences(value)}]\``;
}

/** The value of an AsciiDoc cell as written by hand or by {@link asciidocCell}. */
export function asciidocCellValue(raw: string): string {
  let text = raw.trim();
  const code = /^`([^`]*)`$/.exec(text) ?? /^``([\s\S]*)``$/.exec(text);
  if (code) text = code[1] as string;
  const pass = /^pass:[a-z,]*\[([\s\S]*)\]$/.exec(text);
  if (pass) return decodeReferences((pass[1] as string).replaceAll("\\]", "]"));
  const literal = /^\+\+?([\s\S]*?)\+?\+$/.exec(text);
  return literal ? (literal[1] as string) : text;
}

/** A Markdown (GFM table) cell: `` `value` ``, or plain text made only of references. */
export function markdownCell(value: string): string {
  if (value === "") return "";
  return isPlainValue(value) ? `\`${value}\`` : numericReferences(value);
}

/** The value of a Markdown cell as written by hand or by {@link markdownCell}. */
export function markdownCellValue(raw: string): string {
  const text = raw.trim();
  const code = /^`([^`]*)`$/.exec(text);
  if (code) return code[1] as string;
  // Backslash escapes of ASCII punctuation (CommonMark 2.4), then references.
  return decodeReferences(text.replace(/\\([!-/:-@[-`{-~])/g, "$1"));
}

/** Markdown text outside a code span (captions): punctuation that could start markup escaped. */
export function markdownText(text: string): string {
  return printable(text).replace(/[\\`*{}[\]()#+!|<>~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\$&");
}

/** Reads back {@link markdownText}. */
export function markdownTextValue(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, "$1");
}

/**
 * A CSV field (RFC 4180): quoted when it holds a quote, comma or line break. A field that a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR, as OWASP's
 * "CSV Injection" lists) gets a leading `'`, and control characters are written as `\u00XX`
 * so the file is also safe to print on a terminal.
 */
export function csvField(value: string): string {
  const neutral = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  const text = hasControlCharacter(neutral) ? printable(neutral) : neutral;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
