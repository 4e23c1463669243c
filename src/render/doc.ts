/**
 * Finds bootstream's tables in a document written by people: an AsciiDoc file in the layout
 * of OpenShift's docs modules, or a Markdown file. A table is known by its caption
 * (`.x86_64 {op-system} AMIs` in AsciiDoc, `**x86_64 CoreOS AMIs**` in Markdown: the
 * architecture, any OS name, and a table title); everything else in the file is prose that
 * `--update` must leave byte for byte. A caption with no table after it, a table that is not
 * closed, the same caption twice, or a caption that is ours but for case or spacing (whose
 * table would otherwise go unchecked) is an error naming the line.
 */
import { BootstreamError } from "../errors.ts";
import { quoted } from "../schema/text.ts";
import { asciidocCellValue, markdownCellValue, markdownTextValue } from "./cells.ts";
import { TABLE_KINDS, TABLE_SPECS, type TableKind } from "./tables.ts";

export type DocFormat = "asciidoc" | "markdown";

/** A line of the document and the line end that followed it ("" for a last line without one). */
export interface DocLine {
  text: string;
  end: string;
}

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
   * AsciiDoc without a `cols` attribute: Asciidoctor counts the columns on the table's first
   * line, so a rewrite must keep each row on one line (`|a |b`).
   */
  columnsFromFirstLine: boolean;
  rows: DocRow[];
}

export function splitDocLines(text: string): DocLine[] {
  const lines: DocLine[] = [];
  const re = /\r?\n/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    lines.push({ text: text.slice(start, m.index), end: m[0] });
    start = m.index + m[0].length;
  }
  if (start < text.length) lines.push({ text: text.slice(start), end: "" });
  return lines;
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

/** The architecture and table kind a caption names, or undefined when it is not one of ours. */
export function parseCaption(caption: string): { architecture: string; table: TableKind } | undefined {
  if (caption.length > CAPTION_MAX) return undefined;
  const m = CAPTION.exec(caption);
  if (!m) return undefined;
  const table = TITLES.find((k) => TABLE_SPECS[k].title === m[3]) as TableKind;
  return { architecture: m[1] as string, table };
}

/**
 * Whether a caption that is not ours would be but for case or whitespace. A docs CI must not
 * pass because someone wrote `.X86_64` and the table was skipped; architecture names all have
 * a digit (x86_64, aarch64, s390x, ...), which keeps prose titles like `.Supported AMIs` out.
 */
function isNearCaption(caption: string): boolean {
  if (caption.length > CAPTION_MAX) return false;
  const m = NEAR_CAPTION.exec(caption);
  return m !== null && /\d/.test(m[1] as string);
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

/** Splits a line at the `|` that are not escaped as `\|` (which become part of the cell). */
function splitCells(line: string): string[] {
  const pieces: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "\\" && line[i + 1] === "|") {
      current += "|";
      i++;
    } else if (ch === "|") {
      pieces.push(current);
      current = "";
    } else current += ch;
  }
  pieces.push(current);
  return pieces;
}

export function findDocTables(text: string, format: DocFormat, name: string): DocTable[] {
  // Asciidoctor and Markdown readers drop a byte-order mark; the lines keep their numbers.
  const lines = splitDocLines(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const tables = format === "asciidoc" ? findAsciidocTables(lines, name) : findMarkdownTables(lines, name);
  const seen = new Map<string, DocTable>();
  for (const table of tables) {
    const id = `${table.architecture} ${table.table}`;
    const before = seen.get(id);
    if (before !== undefined)
      throw malformed(
        name,
        table.captionLine,
        `caption ${quoted(table.caption)} repeats the one at line ${before.captionLine}: which table to check is ambiguous`,
      );
    seen.set(id, table);
  }
  return tables;
}

/** Lines that may stand between a block's attributes, title and delimiter: blank, `[...]`, `// comment`. */
const BEFORE_BLOCK = /^(?:|\[.*\]|\/\/(?!\/\/).*)$/;
/** Preprocessor lines, which Asciidoctor resolves before it sees the table. */
const PREPROCESSOR = /^(?:ifdef|ifndef|ifeval|endif|include)::/;

/** Listing, literal, comment and passthrough blocks: their content is verbatim text, never a caption. */
const ASCIIDOC_VERBATIM = /^(-{4,}|\.{4,}|\/{4,}|\+{4,}|`{3,})$/;
/** What may stand before a `|` that opens a cell: `2+`, `a`, `3*^.>m`, ... */
const CELL_SPEC = /^(?:\d+\*)?(?:\d*(?:\.\d+)?\+)?[<^>]?(?:\.[<^>])?[adehlmsv]?$/;

function findAsciidocTables(lines: DocLine[], name: string): DocTable[] {
  const tables: DocTable[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] as DocLine).text.trimEnd();
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
    tables.push(table);
    i = table.last;
  }
  return tables;
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
  lines: DocLine[],
  captionIndex: number,
  caption: string,
  named: { architecture: string; table: TableKind },
  name: string,
): DocTable {
  const textAt = (i: number) => (lines[i] as DocLine).text.trim();
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

  const cells: { text: string; line: number }[] = [];
  let firstLine: { index: number; cells: number } | undefined;
  for (let i = open + 1; i < close; i++) {
    const raw = (lines[i] as DocLine).text;
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
    const pieces = splitCells(raw).map((piece, j, all) =>
      j < all.length - 1 ? withoutNextSpec(piece) : piece,
    );
    const lead = pieces[0] as string;
    const last = cells.at(-1);
    if (pieces.length === 1 || !CELL_SPEC.test(lead.trim())) {
      // Text before any `|` continues the cell above (a cell may span lines).
      if (last === undefined)
        throw malformed(name, i + 1, `text before the first cell of ${quoted(caption)}`);
      last.text += `\n${lead}`;
    }
    for (const piece of pieces.slice(1)) cells.push({ text: piece, line: i + 1 });
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
    rows.push({ cells: row.map((c) => asciidocCellValue(c.text)), line: (row[0] as { line: number }).line });
  }
  return {
    ...named,
    caption,
    captionLine: captionIndex + 1,
    first: open,
    last: close,
    columns,
    header,
    columnsFromFirstLine: declared === undefined,
    rows,
  };
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
  lines: DocLine[],
  open: number,
  firstLine: { index: number; cells: number } | undefined,
  columns: number,
): boolean {
  if (/%noheader\b|\boptions\s*=\s*"?[^"\]]*\bnoheader\b/.test(attributes)) return false;
  if (/%header\b|\boptions\s*=\s*"?[^"\]]*\bheader\b/.test(attributes)) return true;
  if (firstLine === undefined || firstLine.index !== open + 1 || firstLine.cells !== columns) return false;
  return (lines[firstLine.index + 1]?.text.trim() ?? "") === "";
}

const MARKDOWN_FENCE = /^(`{3,}|~{3,})/;
const MARKDOWN_DELIMITER_CELL = /^\s*:?-+:?\s*$/;

/** The cells of a GFM table line: outer pipes dropped, `\|` kept in the cell. */
function markdownCells(text: string): string[] {
  const pieces = splitCells(text.trim());
  if (pieces[0]?.trim() === "") pieces.shift();
  if (pieces.length > 0 && pieces.at(-1)?.trim() === "" && text.trim().endsWith("|")) pieces.pop();
  return pieces;
}

function findMarkdownTables(lines: DocLine[], name: string): DocTable[] {
  const tables: DocTable[] = [];
  let fence: RegExp | undefined;
  let comment = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as DocLine).text;
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
    tables.push(table);
    i = table.last;
  }
  return tables;
}

function markdownTable(
  lines: DocLine[],
  captionIndex: number,
  caption: string,
  named: { architecture: string; table: TableKind },
  name: string,
): DocTable {
  const textAt = (i: number) => (lines[i] as DocLine).text.trim();
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
  const rows: DocRow[] = [];
  for (let i = first + 2; i <= last; i++) {
    const cells = markdownCells(textAt(i));
    if (cells.length !== columns)
      throw malformed(
        name,
        i + 1,
        `a row of ${quoted(caption)} has ${cells.length} cells, the header ${columns}`,
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
    columnsFromFirstLine: false,
    rows,
  };
}
