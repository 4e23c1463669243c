/**
 * `render --check` and `--update`: a document's tables against the stream. Rows are matched
 * by their key (region, image field, platform and format), so a finding names the row that
 * drifted: its value differs, the stream has it and the document does not (missing), or the
 * document has it and the stream does not (extra). `--update` rewrites exactly the tables
 * with such rows and leaves every other byte of the document as it was.
 */
import type { Stream } from "../schema/stream.ts";
import { printable, quoted } from "../schema/text.ts";
import { type DocFormat, type DocLine, type DocTable, splitDocLines } from "./doc.ts";
import {
  type RenderedTable,
  streamTables,
  TABLE_KINDS,
  TABLE_SPECS,
  type TableKind,
  type TableSelection,
  tableRows,
} from "./tables.ts";
import { asciidocBodyLines, asciidocRowLines, markdownTableLines } from "./write.ts";

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

export interface CheckOptions extends TableSelection {
  /**
   * The user named architectures or table kinds (`-a`, `--what`): a table the stream has
   * and the document lacks is then a finding. Otherwise the document decides what to check.
   */
  asked?: boolean;
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
  options: CheckOptions = {},
): RenderFinding[] {
  const findings = selectDocTables(docTables, options).flatMap((t) => compareTable(t, stream));
  if (options.asked) {
    const present = new Set(docTables.map((t) => `${t.architecture} ${t.table}`));
    for (const t of streamTables(stream, options)) {
      if (present.has(`${t.architecture} ${t.table}`)) continue;
      findings.push({
        kind: "missing-table",
        architecture: t.architecture,
        table: t.table,
        caption: t.caption,
        rows: t.rows.length,
      });
    }
  }
  return findings;
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
  const where = `${docName}${finding.line === undefined ? "" : `:${finding.line}`}: ${quoted(finding.caption)}`;
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
      return `${where}: the stream has no such table for ${printable(finding.architecture)} (${finding.rows} rows in the doc)`;
    case "missing-table":
      return `${where}: in the stream (${finding.rows} rows), not in the doc: add the table (bootstream render prints it), then --update keeps it current`;
    case "columns":
      return `${where}: the doc's table has other columns than ${TABLE_SPECS[finding.table].columns.join(", ")}: rewrite it by hand once`;
  }
}

/** Findings `--update` resolves by rewriting a table. */
const ROW_FINDINGS = new Set<FindingKind>(["differs", "missing", "extra"]);

export interface DocUpdate {
  /** The document with the tables rewritten; the same string when nothing changed. */
  text: string;
  /** The tables rewritten, in document order. */
  rewritten: DocTable[];
  /** Findings a rewrite cannot resolve (a table only one side has, other columns). */
  unresolved: RenderFinding[];
}

/**
 * Rewrites every table with a row finding from the stream, in the document's own line ends
 * (CRLF stays CRLF) and keeping its caption, attributes, delimiter lines (`|====` stays) and
 * whether it has a header row; the last line's end (or its absence) is kept too. Nothing
 * outside those tables changes.
 */
export function updateDocTables(
  text: string,
  format: DocFormat,
  docTables: readonly DocTable[],
  findings: readonly RenderFinding[],
  stream: Stream,
): DocUpdate {
  const stale = new Set(
    findings.filter((f) => ROW_FINDINGS.has(f.kind)).map((f) => `${f.architecture} ${f.table}`),
  );
  const rewritten = docTables.filter((t) => stale.has(`${t.architecture} ${t.table}`));
  const unresolved = findings.filter((f) => !ROW_FINDINGS.has(f.kind));
  if (rewritten.length === 0) return { text, rewritten, unresolved };
  const lines = splitDocLines(text);
  const replacement = new Map(rewritten.map((t) => [t.first, t]));
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    const table = replacement.get(i);
    if (table === undefined) {
      const line = lines[i] as DocLine;
      out += line.text + line.end;
      continue;
    }
    const eol = lines[table.captionLine - 1]?.end || "\n";
    const body = tableLines(table, format, stream);
    const replaced =
      format === "asciidoc"
        ? [(lines[table.first] as DocLine).text, ...body, (lines[table.last] as DocLine).text]
        : body;
    out += replaced.join(eol) + (lines[table.last] as DocLine).end;
    i = table.last;
  }
  return { text: out, rewritten, unresolved };
}

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
  if (format === "markdown") return markdownTableLines(table);
  return doc.columnsFromFirstLine
    ? asciidocRowLines(table, doc.header)
    : asciidocBodyLines(table, doc.header);
}
