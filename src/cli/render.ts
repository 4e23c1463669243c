/** Plain-text rendering helpers shared by commands. */
import { escapeJsonText } from "../schema/text.ts";

/** A left-aligned table with a header row; columns separated by two spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * `--json` output: also escapes the C1 controls, U+2028 and U+2029 that JSON.stringify
 * leaves raw, so a hostile document cannot drive the terminal through any command's output.
 */
export function toJsonText(value: unknown): string {
  return escapeJsonText(`${JSON.stringify(value, null, 2)}\n`);
}
