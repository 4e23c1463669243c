/**
 * Finds bootstream's tables in a document written by people: an AsciiDoc file in the layout
 * of OpenShift's docs modules, or a Markdown file. A table is known by its caption
 * (`.x86_64 {op-system} AMIs` in AsciiDoc, `**x86_64 CoreOS AMIs**` in Markdown: the
 * architecture, any OS name, and a table title); everything else in the file is prose that
 * `--update` must leave byte for byte. A caption with no table after it, a table that is not
 * closed, the same caption twice (but for variants in different `ifdef::` blocks), a caption
 * that is ours but for case or spacing (whose table would otherwise go unchecked), or a table
 * far larger than any bootstream writes is an error naming the line.
 */
import { BootstreamError } from "../errors.ts";
import { quoted } from "../schema/text.ts";
import { asciidocCellValue, markdownCellValue, markdownTextValue } from "./cells.ts";
import { TABLE_KINDS, TABLE_SPECS, type TableKind } from "./tables.ts";

export type DocFormat = "asciidoc" | "markdown";

export interface DocRow {
  /** Cell values, markup removed. */
  cells: string[];
  /** 1-based line of the row's first cell. */
  line: number;
}

export interface DocTable {
  architecture: string;
  table: TableKind;
  /** The caption as written, markup removed: `x86_64 {op-system} AMIs`. */
  caption: string;
  captionLine: number;
  /** 0-based indexes of the first and last line a rewrite replaces (AsciiDoc: the `|===` lines). */
  first: number;
  last: number;
  /** Columns the document's table has. */
  columns: number;
  /** Whether its first row is a header row. */
  header: boolean;
  /**
   * The last line (0-based) of the header row as the document writes it, kept verbatim by a
   * rewrite: the Markdown delimiter row, the AsciiDoc line of the last header cell. Undefined
   * without a header, or when the header shares a line with the first row (then a rewrite
   * writes bootstream's header).
   */
  headerLast?: number;
  /** The leading whitespace of the table's rows (a table indented under a list item), which a rewrite keeps. */
  indent: string;
  /**
   * AsciiDoc without a `cols` attribute: Asciidoctor counts the columns on the table's first
   * line, so a rewrite must keep each row on one line (`|a |b`).
   */
  columnsFromFirstLine: boolean;
  /**
   * The 1-based line of the `ifdef::`, `ifndef::` or `ifeval::` whose block holds the table,
   * if any: variants of one table in different conditional blocks are each checked.
   */
  conditional?: number;
  rows: DocRow[];
}

/**
 * Bootstream's tables have tens of rows (AMIs: one per region). The caps are far beyond any
 * doc and bound what a hostile one costs: each row becomes objects and maybe a finding, and
 * a 4 MiB doc of `||` lines would otherwise be 1.4 million of them (gigabytes).
 */
export const DOC_TABLE_MAX_ROWS = 10_000;
/** Rows in all the tables of one document (variants under ifdef:: included). */
export const DOC_MAX_ROWS = 20_000;
/** Cells of a table: the rows of our widest table (5 columns); a line of a million `|` stops here. */
const TABLE_MAX_CELLS = DOC_TABLE_MAX_ROWS * 5;

/**
 * The lines of a document as offsets into its text, each line's text and end (`\n`, `\r\n`,
 * or "" for a last line without one) sliced when asked for: four megabytes of newlines cost
 * a 16 MB index, not four million objects.
 */
export class DocLines {
  readonly length: number;
  /** Where each line starts, and the text's length after the last. */
  private readonly starts: Uint32Array;

  constructor(readonly source: string) {
    let count = 0;
    for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) count++;
    const last = source.length > 0 && !source.endsWith("\n") ? 1 : 0;
    this.length = count + last;
    this.starts = new Uint32Array(this.length + 1);
    let line = 1;
    for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) this.starts[line++] = i + 1;
    this.starts[this.length] = source.length;
  }

  /** The text of line `i` (0-based) without its line end; "" past the last line. */
  text(i: number): string {
    if (i < 0 || i >= this.length) return "";
    const start = this.starts[i] as number;
    return this.source.slice(start, start + this.textLength(i));
  }

  /** Where line `i` starts in the text; the text's length for the line after the last. */
  offset(i: number): number {
    return this.starts[Math.max(0, Math.min(i, this.length))] as number;
  }

  /** The line end after line `i`. */
  end(i: number): string {
    if (i < 0 || i >= this.length) return "";
    const start = (this.starts[i] as number) + this.textLength(i);
    return this.source.slice(start, this.starts[i + 1]);
  }

  private textLength(i: number): number {
    const start = this.starts[i] as number;
    let stop = this.starts[i + 1] as number;
    if (this.source[stop - 1] === "\n") stop--;
    if (stop > start && this.source[stop - 1] === "\r") stop--;
    return stop - start;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Titles longest first, so `AWS Windows License Included AMIs` is not read as `AMIs`. */
const TITLES = [...TABLE_KINDS].sort((a, b) => TABLE_SPECS[b].title.length - TABLE_SPECS[a].title.length);
const CAPTION = new RegExp(
  `^([a-z][a-z0-9_]*)(?: (.+?))? (${TITLES.map((k) => escapeRegExp(TABLE_SPECS[k].title)).join("|")})$`,
);

/** The same with any case and whitespace: `.X86_64 {op-system} amis`, a tab after the architecture. */
const NEAR_CAPTION = new RegExp(
  `^([a-z][a-z0-9_]*)(?:\\s+(.+?))?\\s+(${TITLES.map((k) => escapeRegExp(TABLE_SPECS[k].title)).join("|")})$`,
  "i",
);
/** Our captions are a few dozen characters; a longer line is prose (and no message repeats a megabyte). */
const CAPTION_MAX = 200;

/**
 * Architecture names all have a digit (x86_64, aarch64, ppc64le, s390x, riscv64,
 * loongarch64): that keeps block titles of prose (`.available AMIs`, `.Supported AMIs`) out.
 */
const isArchitectureWord = (word: string) => /\d/.test(word);

/** The architecture and table kind a caption names, or undefined when it is not one of ours. */
export function parseCaption(caption: string): { architecture: string; table: TableKind } | undefined {
  if (caption.length > CAPTION_MAX) return undefined;
  const m = CAPTION.exec(caption);
  if (!m || !isArchitectureWord(m[1] as string)) return undefined;
  const table = TITLES.find((k) => TABLE_SPECS[k].title === m[3]) as TableKind;
  return { architecture: m[1] as string, table };
}

/**
 * Whether a caption that is not ours would be but for case or whitespace. A docs CI must not
 * pass because someone wrote `.X86_64` and the table was skipped.
 */
function isNearCaption(caption: string): boolean {
  if (caption.length > CAPTION_MAX) return false;
  const m = NEAR_CAPTION.exec(caption);
  return m !== null && isArchitectureWord(m[1] as string);
}

/** A caption line of ours, undefined for prose, or an error for one that is ours but misspelt. */
function captionAt(
  caption: string,
  format: DocFormat,
  name: string,
  line: number,
): { architecture: string; table: TableKind } | undefined {
  const named = parseCaption(caption);
  if (named !== undefined || !isNearCaption(caption)) return named;
  const form = format === "asciidoc" ? ".ARCH OS TITLE" : "**ARCH OS TITLE**";
  throw malformed(
    name,
    line,
    `caption ${quoted(caption)} looks like a table's but is not written as one: expected ${form} with the architecture in lowercase, single spaces and the title as bootstream writes it (AMIs, GCP image, ...)`,
  );
}

function malformed(name: string, line: number, message: string): BootstreamError {
  return new BootstreamError("INVALID_DOCUMENT", `${name}:${line}: ${message}`, { path: name });
}

/**
 * Splits a line at the `|` that are not escaped as `\|` (which become part of the cell). It
 * stops after `max` pieces: a line of a million pipes is refused by the caller, not split.
 */
function splitCells(line: string, max = TABLE_MAX_CELLS + 1): string[] {
  const pieces: string[] = [];
  // Slices between the pipes, not a string grown a character at a time (a rope of every character).
  let current = "";
  let from = 0;
  for (let at = line.indexOf("|"); at !== -1; at = line.indexOf("|", at + 1)) {
    if (at > 0 && line[at - 1] === "\\") {
      current += `${line.slice(from, at - 1)}|`;
      from = at + 1;
      continue;
    }
    pieces.push(current + line.slice(from, at));
    if (pieces.length > max) return pieces;
    current = "";
    from = at + 1;
  }
  pieces.push(current + line.slice(from));
  return pieces;
}

export function findDocTables(text: string, format: DocFormat, name: string): DocTable[] {
  // Asciidoctor and Markdown readers drop a byte-order mark; the lines keep their numbers.
  const lines = new DocLines(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const tables: DocTable[] = [];
  const seen = new Map<string, DocTable[]>();
  let rows = 0;
  // Called as each table is read, so a hostile document stops at the cap, not after it.
  const add = (table: DocTable) => {
    rows += table.rows.length;
    if (rows > DOC_MAX_ROWS)
      throw malformed(
        name,
        table.captionLine,
        `the tables up to ${quoted(table.caption)} have more than ${DOC_MAX_ROWS} rows in all; bootstream's have a few hundred`,
      );
    const id = `${table.architecture} ${table.table}`;
    const before = seen.get(id) ?? [];
    const clash = before.find((t) => !areVariants(t, table));
    if (clash !== undefined)
      throw malformed(
        name,
        table.captionLine,
        `caption ${quoted(table.caption)} repeats the one at line ${clash.captionLine}: which table to check is ambiguous (variants of a table go in different ifdef:: blocks)`,
      );
    seen.set(id, [...before, table]);
    tables.push(table);
  };
  if (format === "asciidoc") findAsciidocTables(lines, name, add);
  else findMarkdownTables(lines, name, add);
  return tables;
}

/** Two tables of one caption that Asciidoctor never shows together: each in its own conditional block. */
function areVariants(a: DocTable, b: DocTable): boolean {
  return a.conditional !== undefined && b.conditional !== undefined && a.conditional !== b.conditional;
}

/** Lines that may stand between a block's attributes, title and delimiter: blank, `[...]`, `// comment`. */
const BEFORE_BLOCK = /^(?:|\[.*\]|\/\/(?!\/\/).*)$/;
/** Preprocessor lines, which Asciidoctor resolves before it sees the table. */
const PREPROCESSOR = /^(?:ifdef|ifndef|ifeval|endif|include)::/;
/** A conditional that opens a block (the one-line form `ifdef::attr[text]` has text in its brackets). */
const CONDITIONAL_OPEN = /^(?:ifdef|ifndef)::[^[\s]+\[\]$|^ifeval::\[.*\]$/;
const CONDITIONAL_CLOSE = /^endif::[^[\s]*\[\]$/;

/** Listing, literal, comment and passthrough blocks: their content is verbatim text, never a caption. */
const ASCIIDOC_VERBATIM = /^(-{4,}|\.{4,}|\/{4,}|\+{4,}|`{3,})$/;
/** What may stand before a `|` that opens a cell: `2+`, `a`, `3*^.>m`, ... */
const CELL_SPEC = /^(?:\d+\*)?(?:\d*(?:\.\d+)?\+)?[<^>]?(?:\.[<^>])?[adehlmsv]?$/;

function findAsciidocTables(lines: DocLines, name: string, add: (table: DocTable) => void): void {
  let fence: string | undefined;
  // Open conditional blocks, innermost last, by 1-based line. Asciidoctor's preprocessor
  // applies them everywhere, inside listing blocks too, so they are followed before fences.
  const conditionals: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines.text(i).trimEnd();
    if (CONDITIONAL_OPEN.test(text)) conditionals.push(i + 1);
    else if (CONDITIONAL_CLOSE.test(text)) conditionals.pop();
    if (fence !== undefined) {
      if (text === fence) fence = undefined;
      continue;
    }
    if (ASCIIDOC_VERBATIM.test(text)) {
      fence = text;
      continue;
    }
    if (!/^\.[^.\s]/.test(text)) continue;
    const named = captionAt(text.slice(1), "asciidoc", name, i + 1);
    if (named === undefined) continue;
    const table = asciidocTable(lines, i, text.slice(1), named, name);
    const conditional = conditionals.at(-1);
    add(conditional === undefined ? table : { ...table, conditional });
    i = table.last;
  }
}

/**
 * A cell's text without the spec of the next cell at its end: in `|x m|y`, `m` (monospace)
 * is y's spec, as Asciidoctor reads it, not part of x.
 */
function withoutNextSpec(text: string): string {
  const m = /\s(\S+)$/.exec(text);
  return m !== null && CELL_SPEC.test(m[1] as string) ? text.slice(0, m.index) : text;
}

function asciidocTable(
  lines: DocLines,
  captionIndex: number,
  caption: string,
  named: { architecture: string; table: TableKind },
  name: string,
): DocTable {
  const textAt = (i: number) => lines.text(i).trim();
  // Blank lines, attribute lines and `//` comment lines may stand before and after a block's
  // title: `[cols=...]` above `.x86_64 ...` is the table's as much as below it.
  const attributes: string[] = [];
  for (let above = captionIndex - 1; above >= 0 && BEFORE_BLOCK.test(textAt(above)); above--)
    if (textAt(above).startsWith("[")) attributes.push(textAt(above));
  let open = captionIndex + 1;
  while (open < lines.length && BEFORE_BLOCK.test(textAt(open))) {
    if (textAt(open).startsWith("[")) attributes.push(textAt(open));
    open++;
  }
  // `|===` or longer (`|====`); the table ends at the same delimiter, as in Asciidoctor.
  const delimiter = open < lines.length ? textAt(open) : "";
  if (!/^\|={3,}$/.test(delimiter))
    throw malformed(name, captionIndex + 1, `caption ${quoted(caption)} is not followed by a table (|===)`);
  let close = open + 1;
  while (close < lines.length && textAt(close) !== delimiter) close++;
  if (close >= lines.length)
    throw malformed(name, open + 1, `the table ${quoted(caption)} opened here has no closing ${delimiter}`);

  const cells: { text: string; line: number; startsLine: boolean }[] = [];
  let firstLine: { index: number; cells: number } | undefined;
  for (let i = open + 1; i < close; i++) {
    const raw = lines.text(i);
    const text = raw.trimEnd();
    // Asciidoctor's table reader drops every line that starts with `//` (a `////` line too,
    // but not what stands between two of them).
    if (text.trim() === "" || text.startsWith("//")) continue;
    if (PREPROCESSOR.test(text))
      throw malformed(
        name,
        i + 1,
        `${quoted(text.slice(0, 60))} inside the table ${quoted(caption)}: which rows Asciidoctor keeps depends on attributes bootstream does not know; put the conditional or include around the whole table`,
      );
    const room = TABLE_MAX_CELLS - cells.length;
    const split = splitCells(raw, room + 1);
    if (split.length - 1 > room) throw tooBig(name, i + 1, caption, `more than ${TABLE_MAX_CELLS} cells`);
    const pieces = split.map((piece, j, all) => (j < all.length - 1 ? withoutNextSpec(piece) : piece));
    const lead = pieces[0] as string;
    const last = cells.at(-1);
    const continues = pieces.length === 1 || !CELL_SPEC.test(lead.trim());
    if (continues) {
      // Text before any `|` continues the cell above (a cell may span lines).
      if (last === undefined)
        throw malformed(name, i + 1, `text before the first cell of ${quoted(caption)}`);
      last.text += `\n${lead}`;
    }
    pieces.slice(1).forEach((piece, j) => {
      cells.push({ text: piece, line: i + 1, startsLine: j === 0 && !continues });
    });
    firstLine ??= { index: i, cells: pieces.length - 1 };
  }
  const attributeText = attributes.join(" ");
  const declared = colsCount(attributeText);
  const columns = declared ?? firstLine?.cells ?? 0;
  const header = hasHeader(attributeText, lines, open, firstLine, columns);
  if (columns === 0 || cells.length % columns !== 0)
    throw malformed(
      name,
      open + 1,
      `the table ${quoted(caption)} has ${cells.length} cells, not rows of ${columns} columns`,
    );
  const rows: DocRow[] = [];
  for (let i = header ? columns : 0; i < cells.length; i += columns) {
    const row = cells.slice(i, i + columns);
    const line = (row[0] as { line: number }).line;
    if (rows.length === DOC_TABLE_MAX_ROWS)
      throw tooBig(name, line, caption, `more than ${DOC_TABLE_MAX_ROWS} rows`);
    rows.push({ cells: row.map((c) => asciidocCellValue(c.text)), line });
  }
  const body = cells[header ? columns : 0];
  const headerLast = header ? asciidocHeaderLast(lines, open, close, body) : undefined;
  return {
    ...named,
    caption,
    captionLine: captionIndex + 1,
    first: open,
    last: close,
    columns,
    header,
    ...(headerLast === undefined ? {} : { headerLast }),
    indent: leadingWhitespace(lines.text(body === undefined ? open : body.line - 1)),
    columnsFromFirstLine: declared === undefined,
    rows,
  };
}

function tooBig(name: string, line: number, caption: string, what: string): BootstreamError {
  return malformed(
    name,
    line,
    `the table ${quoted(caption)} has ${what}; bootstream's tables have tens of rows`,
  );
}

const leadingWhitespace = (line: string) => /^[ \t]*/.exec(line)?.[0] ?? "";

/**
 * The last line of an AsciiDoc header row, up to which a rewrite keeps the document's own
 * header: the last line before the first row's line that is neither blank nor a comment
 * (those go with the rows). Undefined when the first row does not start its own line.
 */
function asciidocHeaderLast(
  lines: DocLines,
  open: number,
  close: number,
  body: { line: number; startsLine: boolean } | undefined,
): number | undefined {
  if (body !== undefined && !body.startsLine) return undefined;
  let last = (body === undefined ? close : body.line - 1) - 1;
  for (; last > open; last--) {
    const text = lines.text(last).trim();
    if (text !== "" && !text.startsWith("//")) return last;
  }
  return undefined;
}

/** Columns of a `cols="2a,2a"` / `cols="3*"` attribute, if there is one. */
function colsCount(attributes: string): number | undefined {
  const m = /\bcols\s*=\s*(?:"([^"]*)"|'([^']*)'|([^,\]\s]+))/.exec(attributes);
  if (!m) return undefined;
  const spec = (m[1] ?? m[2] ?? m[3] ?? "").trim();
  if (/^\d+$/.test(spec)) return Number(spec);
  return spec
    .split(/[,;]/)
    .map((entry) => /^\s*(\d+)\*/.exec(entry))
    .reduce((n, multiplier) => n + (multiplier ? Number(multiplier[1]) : 1), 0);
}

/**
 * `options="header"` or `%header`; else Asciidoctor's implicit header: the line right after
 * the opening delimiter (no blank line before it) holds every cell of a row, and a blank line follows.
 */
function hasHeader(
  attributes: string,
  lines: DocLines,
  open: number,
  firstLine: { index: number; cells: number } | undefined,
  columns: number,
): boolean {
  if (/%noheader\b|\boptions\s*=\s*"?[^"\]]*\bnoheader\b/.test(attributes)) return false;
  if (/%header\b|\boptions\s*=\s*"?[^"\]]*\bheader\b/.test(attributes)) return true;
  if (firstLine === undefined || firstLine.index !== open + 1 || firstLine.cells !== columns) return false;
  return lines.text(firstLine.index + 1).trim() === "";
}

const MARKDOWN_FENCE = /^(`{3,}|~{3,})/;
const MARKDOWN_DELIMITER_CELL = /^\s*:?-+:?\s*$/;

/** The cells of a GFM table line: outer pipes dropped, `\|` kept in the cell; more than `max` once over. */
function markdownCells(text: string, max = TABLE_MAX_CELLS): string[] {
  const pieces = splitCells(text.trim(), max + 2);
  if (pieces[0]?.trim() === "") pieces.shift();
  if (pieces.length > 0 && pieces.at(-1)?.trim() === "" && text.trim().endsWith("|")) pieces.pop();
  return pieces;
}

function findMarkdownTables(lines: DocLines, name: string, add: (table: DocTable) => void): void {
  let fence: RegExp | undefined;
  let comment = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines.text(i);
    const text = raw.trim();
    if (fence !== undefined) {
      if (fence.test(text)) fence = undefined;
      continue;
    }
    // An HTML comment is not shown, so a caption in it is not a table of the page.
    if (comment) {
      comment = !text.includes("-->");
      continue;
    }
    if (text.startsWith("<!--")) {
      comment = !text.slice(4).includes("-->");
      continue;
    }
    const opening = MARKDOWN_FENCE.exec(text);
    if (opening) {
      // Closed by the same character, at least as many times, and nothing after (CommonMark 4.5).
      const mark = opening[1] as string;
      fence = new RegExp(`^\\${mark[0]}{${mark.length},}$`);
      continue;
    }
    // Four spaces or a tab of indent make a code block (CommonMark 4.4), not a caption.
    if (/^(?: {4}|\t)/.test(raw)) continue;
    const bold = /^\*\*(.+)\*\*$/.exec(text);
    if (!bold) continue;
    const caption = markdownTextValue(bold[1] as string);
    const named = captionAt(caption, "markdown", name, i + 1);
    if (named === undefined) continue;
    const table = markdownTable(lines, i, caption, named, name);
    add(table);
    i = table.last;
  }
}

function markdownTable(
  lines: DocLines,
  captionIndex: number,
  caption: string,
  named: { architecture: string; table: TableKind },
  name: string,
): DocTable {
  const textAt = (i: number) => lines.text(i).trim();
  let first = captionIndex + 1;
  while (first < lines.length && textAt(first) === "") first++;
  let last = first;
  while (last < lines.length && textAt(last).startsWith("|")) last++;
  last--;
  if (last < first + 1 || !markdownCells(textAt(first + 1)).every((c) => MARKDOWN_DELIMITER_CELL.test(c)))
    throw malformed(
      name,
      captionIndex + 1,
      `caption ${quoted(caption)} is not followed by a table (a header row, then a | --- | row)`,
    );
  const columns = markdownCells(textAt(first)).length;
  if (columns > TABLE_MAX_CELLS) throw tooBig(name, first + 1, caption, `more than ${TABLE_MAX_CELLS} cells`);
  const rows: DocRow[] = [];
  for (let i = first + 2; i <= last; i++) {
    if (rows.length === DOC_TABLE_MAX_ROWS || (rows.length + 2) * columns > TABLE_MAX_CELLS)
      throw tooBig(name, i + 1, caption, `more than ${DOC_TABLE_MAX_ROWS} rows or ${TABLE_MAX_CELLS} cells`);
    const cells = markdownCells(textAt(i), columns);
    if (cells.length !== columns)
      throw malformed(
        name,
        i + 1,
        `a row of ${quoted(caption)} has ${cells.length > columns ? `more than ${columns}` : cells.length} cells, the header ${columns}`,
      );
    rows.push({ cells: cells.map(markdownCellValue), line: i + 1 });
  }
  return {
    ...named,
    caption,
    captionLine: captionIndex + 1,
    first,
    last,
    columns,
    header: true,
    // The header and delimiter rows as written (alignment, spacing, the doc's own header names).
    headerLast: first + 1,
    indent: leadingWhitespace(lines.text(last > first + 1 ? first + 2 : first)),
    columnsFromFirstLine: false,
    rows,
  };
}
