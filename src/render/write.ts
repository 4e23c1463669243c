/**
 * Tables as text: AsciiDoc in the layout of OpenShift's AWS UPI docs module, Markdown (GFM
 * tables), an HTML fragment and CSV. JSON is {@link tablesJson}, serialised by the caller.
 */
import { isHttpUrl } from "../schema/common.ts";
import { escapeHtml } from "../schema/text.ts";
import { asciidocCell, csvField, markdownCell, markdownText } from "./cells.ts";
import { type RenderedTable, TABLE_SPECS } from "./tables.ts";

export const RENDER_FORMATS = ["asciidoc", "markdown", "html", "csv", "json"] as const;
export type RenderFormat = (typeof RENDER_FORMATS)[number];

/**
 * One AsciiDoc table, without its caption line, as lines:
 *
 *     (blank)
 *     [cols="2a,2a",options="header"]
 *     |===
 *     (blank)
 *     |AWS zone
 *     |AWS AMI
 *     (blank)
 *     |`af-south-1`
 *     |`ami-0a3b22174319ad66e`
 *     (blank)
 *     |===
 */
export function asciidocTableLines(table: RenderedTable): string[] {
  const cols = `[cols="${TABLE_SPECS[table.table].cols}",options="header"]`;
  return ["", cols, "|===", ...asciidocBodyLines(table, true), "|==="];
}

/** The lines between a table's `|===` delimiters (the header cells only when it has a header row). */
export function asciidocBodyLines(table: RenderedTable, header: boolean): string[] {
  const lines = [""];
  if (header) lines.push(...table.columns.map((c) => `|${c}`), "");
  for (const row of table.rows) lines.push(...row.map((cell) => `|${asciidocCell(cell)}`), "");
  return lines;
}

/**
 * The same for a table without a `cols` attribute, one row per line: Asciidoctor takes the
 * column count from the first line, and a header only from a first line followed by a blank
 * one, so a header row is followed by a blank line and the rows of a table without one are not.
 */
export function asciidocRowLines(table: RenderedTable, header: boolean): string[] {
  const row = (cells: readonly string[]) => cells.map((cell) => `|${cell}`).join(" ");
  const rows = table.rows.map((cells) => row(cells.map(asciidocCell)));
  return header ? [row(table.columns), "", ...rows] : rows;
}

export function asciidocCaption(table: RenderedTable): string {
  return `.${table.caption}`;
}

export function renderAsciidoc(tables: readonly RenderedTable[]): string {
  return tables.map((t) => `${[asciidocCaption(t), ...asciidocTableLines(t)].join("\n")}\n`).join("\n");
}

export function markdownCaption(table: RenderedTable): string {
  return `**${markdownText(table.caption)}**`;
}

const markdownLine = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;

/** A GFM table: header row, delimiter row, one line per row. */
export function markdownTableLines(table: RenderedTable): string[] {
  return [
    markdownLine(table.columns),
    markdownLine(table.columns.map(() => "---")),
    ...markdownRowLines(table),
  ];
}

/** The rows of a GFM table, one line each. */
export function markdownRowLines(table: RenderedTable): string[] {
  return table.rows.map((row) => markdownLine(row.map(markdownCell)));
}

export function renderMarkdown(tables: readonly RenderedTable[]): string {
  return tables.map((t) => `${[markdownCaption(t), "", ...markdownTableLines(t)].join("\n")}\n`).join("\n");
}

function htmlCell(value: string): string {
  if (value === "") return "<td></td>";
  const code = `<code>${escapeHtml(value)}</code>`;
  // Only a strict http(s) URL becomes a link: never `javascript:`, whatever the stream holds.
  return `<td>${isHttpUrl(value) ? `<a href="${escapeHtml(value)}">${code}</a>` : code}</td>`;
}

/** An HTML fragment: one `<table>` per table, every value escaped. */
export function renderHtml(tables: readonly RenderedTable[]): string {
  return tables
    .map((t) =>
      [
        `<table class="bootstream-${escapeHtml(t.table)}" data-architecture="${escapeHtml(t.architecture)}">`,
        `<caption>${escapeHtml(t.caption)}</caption>`,
        `<thead><tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`,
        "<tbody>",
        ...t.rows.map((row) => `<tr>${row.map(htmlCell).join("")}</tr>`),
        "</tbody>",
        "</table>\n",
      ].join("\n"),
    )
    .join("\n");
}

/** The CSV header: one line per value, named by table, row key and column. */
export const CSV_HEADER = ["architecture", "table", "key", "column", "value"] as const;

/**
 * CSV (RFC 4180, CRLF line ends), one record per value so that tables of different shapes
 * share one header: `x86_64,amis,us-east-1,AWS AMI,ami-0a3b22174319ad66e`.
 */
export function renderCsv(tables: readonly RenderedTable[]): string {
  const records: string[][] = [[...CSV_HEADER]];
  for (const t of tables) {
    for (const row of t.rows) {
      const key = row.slice(0, t.keyColumns).join(" ");
      for (let i = t.keyColumns; i < t.columns.length; i++)
        records.push([t.architecture, t.table, key, t.columns[i] ?? "", row[i] ?? ""]);
    }
  }
  return records.map((r) => `${r.map(csvField).join(",")}\r\n`).join("");
}

/** The JSON shape of `render --format json`. */
export interface TablesJson {
  stream: string;
  tables: {
    architecture: string;
    table: string;
    caption: string;
    columns: string[];
    keyColumns: number;
    rows: string[][];
  }[];
}

export function tablesJson(stream: string, tables: readonly RenderedTable[]): TablesJson {
  return {
    stream,
    tables: tables.map((t) => ({
      architecture: t.architecture,
      table: t.table,
      caption: t.caption,
      columns: [...t.columns],
      keyColumns: t.keyColumns,
      rows: t.rows,
    })),
  };
}

/** Text in one of the text formats (JSON is the caller's: {@link tablesJson}). */
export function renderTables(
  tables: readonly RenderedTable[],
  format: Exclude<RenderFormat, "json">,
): string {
  switch (format) {
    case "asciidoc":
      return renderAsciidoc(tables);
    case "markdown":
      return renderMarkdown(tables);
    case "html":
      return renderHtml(tables);
    case "csv":
      return renderCsv(tables);
  }
}
