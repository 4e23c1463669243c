/**
 * `render --check` and `--update`: a document's tables against the stream. Rows are matched
 * by their key (region, image field, platform and format), so a finding names the row that
 * drifted: its value differs, the stream has it and the document does not (missing), or the
 * document has it and the stream does not (extra). `--update` rewrites exactly the tables
 * with such rows and leaves every other byte of the document as it was.
 */
import type { Stream } from "../schema/stream.ts";
import { counted, printable, quoted } from "../schema/text.ts";
import { type DocFormat, DocLines, type DocTable } from "./doc.ts";
import {
  type RenderedTable,
  streamTables,
  TABLE_KINDS,
  TABLE_SPECS,
  type TableKind,
  type TableSelection,
  tableRows,
} from "./tables.ts";
import { asciidocBodyLines, asciidocRowLines, markdownRowLines } from "./write.ts";

export type FindingKind = "differs" | "missing" | "extra" | "extra-table" | "missing-table" | "columns";

export interface RenderFinding {
  kind: FindingKind;
  architecture: string;
  table: TableKind;
  /** The caption in the document (for a missing table: the caption it would have). */
  caption: string;
  /** 1-based line in the document: the row; for a missing row the table's end; for a table its caption. */
  line?: number;
  /** The row's key cells, space separated: `us-east-1`, `metal pxe kernel`. */
  key?: string;
  /** Names of the value columns, then the values in the document and in the stream. */
  columns?: string[];
  doc?: string[];
  stream?: string[];
  /** Rows of a table that only one side has. */
  rows?: number;
}

export interface DocCheckOptions extends TableSelection {
  /**
   * Which tables the stream has that the document must have too (one it lacks is then a
   * "missing-table" finding): `"selection"`, every table the selection names (`--what`);
   * `"doc-kinds"`, those of the kinds the document has for some architecture (`-a` alone:
   * it narrows architectures, it does not ask for kinds). Default: none, the document
   * decides what to check.
   */
  required?: "selection" | "doc-kinds";
}

/** The document's tables that the selection (`-a`, `--what`) covers: those a check compares. */
export function selectDocTables(docTables: readonly DocTable[], selection: TableSelection = {}): DocTable[] {
  const kinds = new Set<TableKind>(selection.tables ?? TABLE_KINDS);
  const arches = selection.architectures === undefined ? undefined : new Set(selection.architectures);
  return docTables.filter((t) => kinds.has(t.table) && (arches?.has(t.architecture) ?? true));
}

/** Every difference between the document's tables (those the selection covers) and the stream. */
export function checkDocTables(
  docTables: readonly DocTable[],
  stream: Stream,
  options: DocCheckOptions = {},
): RenderFinding[] {
  return [
    ...selectDocTables(docTables, options).flatMap((t) => compareTable(t, stream)),
    ...missingTables(docTables, stream, options),
  ];
}

/** The tables the options require that the stream has and the document lacks. */
function missingTables(
  docTables: readonly DocTable[],
  stream: Stream,
  options: DocCheckOptions,
): RenderFinding[] {
  if (options.required === undefined) return [];
  const present = new Set(docTables.map((t) => `${t.architecture} ${t.table}`));
  const docKinds = new Set(docTables.map((t) => t.table));
  return streamTables(stream, options)
    .filter((t) => !present.has(`${t.architecture} ${t.table}`))
    .filter((t) => options.required === "selection" || docKinds.has(t.table))
    .map((t) => ({
      kind: "missing-table",
      architecture: t.architecture,
      table: t.table,
      caption: t.caption,
      rows: t.rows.length,
    }));
}

function compareTable(doc: DocTable, stream: Stream): RenderFinding[] {
  const spec = TABLE_SPECS[doc.table];
  const base = { architecture: doc.architecture, table: doc.table, caption: doc.caption };
  if (doc.columns !== spec.columns.length)
    return [{ ...base, kind: "columns", line: doc.captionLine, rows: doc.rows.length }];
  const wanted = Object.hasOwn(stream.architectures, doc.architecture)
    ? tableRows(stream, doc.architecture, doc.table)
    : [];
  if (wanted.length === 0)
    return [{ ...base, kind: "extra-table", line: doc.captionLine, rows: doc.rows.length }];
  const k = spec.keyColumns;
  const columns = spec.columns.slice(k);
  const keyOf = (cells: readonly string[]) => cells.slice(0, k).join(" ");
  const byKey = new Map(wanted.map((row) => [keyOf(row), row]));
  const seen = new Set<string>();
  const findings: RenderFinding[] = [];
  for (const row of doc.rows) {
    const key = keyOf(row.cells);
    const values = row.cells.slice(k);
    const want = byKey.get(key);
    // A key the document repeats is extra the second time: the stream has one row per key.
    if (want === undefined || seen.has(key)) {
      findings.push({ ...base, kind: "extra", line: row.line, key, columns, doc: values });
    } else if (want.slice(k).some((v, i) => v !== values[i])) {
      findings.push({
        ...base,
        kind: "differs",
        line: row.line,
        key,
        columns,
        doc: values,
        stream: want.slice(k),
      });
    }
    seen.add(key);
  }
  for (const [key, row] of byKey) {
    if (!seen.has(key))
      findings.push({ ...base, kind: "missing", line: doc.last + 1, key, columns, stream: row.slice(k) });
  }
  return findings;
}

/** One line per finding: `DOC:LINE: "CAPTION": KEY: what differs`, safe to print on a terminal. */
export function findingMessage(finding: RenderFinding, docName: string): string {
  // The doc's name is printed as its values are: a control character in it would reach the terminal.
  const where = `${printable(docName)}${finding.line === undefined ? "" : `:${finding.line}`}: ${quoted(finding.caption)}`;
  const key = printable(finding.key ?? "");
  const values = (cells: readonly string[] | undefined) => (cells ?? []).map(quoted).join(", ");
  switch (finding.kind) {
    case "differs": {
      const columns = finding.columns ?? [];
      const parts = columns.flatMap((column, i) => {
        const [doc, want] = [finding.doc?.[i] ?? "", finding.stream?.[i] ?? ""];
        if (doc === want) return [];
        const label = columns.length > 1 ? `${column}: ` : "";
        return [`${label}the doc has ${quoted(doc)}, the stream ${quoted(want)}`];
      });
      return `${where}: ${key}: ${parts.join("; ")}`;
    }
    case "missing":
      return `${where}: ${key}: in the stream (${values(finding.stream)}), not in the doc`;
    case "extra":
      return `${where}: ${key}: in the doc (${values(finding.doc)}), not in the stream`;
    case "extra-table":
      return `${where}: the stream has no such table for ${printable(finding.architecture)} (${counted(finding.rows ?? 0, "row")} in the doc)`;
    case "missing-table":
      return `${where}: in the stream (${counted(finding.rows ?? 0, "row")}), not in the doc: add the table (bootstream render prints it), then --update keeps it current`;
    case "columns":
      return `${where}: the doc's table has other columns than ${TABLE_SPECS[finding.table].columns.join(", ")}: rewrite it by hand once`;
  }
}

/** Findings `--update` resolves by rewriting a table. */
const ROW_FINDINGS = new Set<FindingKind>(["differs", "missing", "extra"]);

export interface DocUpdate {
  /** The document with the tables rewritten; the same string when nothing changed. */
  text: string;
  /** Every finding, as {@link checkDocTables} gives them for the same options. */
  findings: RenderFinding[];
  /** The tables rewritten, in document order. */
  rewritten: DocTable[];
  /** Findings a rewrite cannot resolve (a table only one side has, other columns). */
  unresolved: RenderFinding[];
}

/**
 * Rewrites every table (of those the options select) with a row that differs, is missing or
 * is extra, from the stream, in the document's own line ends (CRLF stays CRLF), keeping its
 * caption, attributes, delimiter lines (`|====` stays), its own header lines, and the
 * indentation of its rows; the last line's end (or its absence) is kept too. Nothing outside
 * those tables changes. The findings are the check's for the same options.
 */
export function updateDocTables(
  text: string,
  format: DocFormat,
  docTables: readonly DocTable[],
  stream: Stream,
  options: DocCheckOptions = {},
): DocUpdate {
  const compared = selectDocTables(docTables, options).map((table) => ({
    table,
    findings: compareTable(table, stream),
  }));
  const findings = [...compared.flatMap((c) => c.findings), ...missingTables(docTables, stream, options)];
  const rewritten = compared
    .filter((c) => c.findings.some((f) => ROW_FINDINGS.has(f.kind)))
    .map((c) => c.table);
  const unresolved = findings.filter((f) => !ROW_FINDINGS.has(f.kind));
  if (rewritten.length === 0) return { text, findings, rewritten, unresolved };
  const lines = new DocLines(text);
  // Every byte between the rewritten tables is copied as it is.
  let out = "";
  let from = 0;
  for (const table of rewritten) {
    out += text.slice(from, lines.offset(table.first)) + rewrittenTable(lines, table, format, stream);
    from = lines.offset(table.last + 1);
  }
  return { text: out + text.slice(from), findings, rewritten, unresolved };
}

/** The text of lines `first` to `last` of a table, its rows from the stream. */
function rewrittenTable(lines: DocLines, table: DocTable, format: DocFormat, stream: Stream): string {
  const eol = lines.end(table.captionLine - 1) || "\n";
  // Kept as written: the opening delimiter (AsciiDoc) and the header lines, with their own line ends.
  const keptLast = table.headerLast ?? (format === "asciidoc" ? table.first : table.first - 1);
  const region: { text: string; end: string }[] = [];
  for (let i = table.first; i <= keptLast; i++)
    region.push({ text: lines.text(i), end: lines.end(i) || eol });
  for (const line of tableLines(table, format, stream))
    region.push({ text: line === "" ? "" : table.indent + line, end: eol });
  if (format === "asciidoc") region.push({ text: lines.text(table.last), end: eol });
  // The table's last line ends as it did (a file without a final newline stays so).
  const last = region.length - 1;
  return region.map((line, i) => line.text + (i === last ? lines.end(table.last) : line.end)).join("");
}

/** The lines a rewrite writes after what it keeps (the header too when the document's cannot be kept). */
function tableLines(doc: DocTable, format: DocFormat, stream: Stream): string[] {
  const spec = TABLE_SPECS[doc.table];
  const table: RenderedTable = {
    architecture: doc.architecture,
    table: doc.table,
    caption: doc.caption,
    columns: spec.columns,
    keyColumns: spec.keyColumns,
    rows: tableRows(stream, doc.architecture, doc.table),
  };
  if (format === "markdown") return markdownRowLines(table);
  const header = doc.header && doc.headerLast === undefined;
  if (!doc.columnsFromFirstLine) return asciidocBodyLines(table, header);
  // After a kept header, a blank line keeps it the implicit header Asciidoctor finds.
  const rows = asciidocRowLines(table, header);
  return doc.headerLast === undefined ? rows : ["", ...rows];
}
