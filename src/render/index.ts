/** Tables of a stream for documentation, and checking or updating the tables a document has. */

export {
  checkDocTables,
  type DocCheckOptions,
  type DocUpdate,
  type FindingKind,
  findingMessage,
  type RenderFinding,
  selectDocTables,
  updateDocTables,
} from "./check.ts";
export {
  DOC_MAX_ROWS,
  DOC_TABLE_MAX_ROWS,
  type DocFormat,
  type DocTable,
  findDocTables,
} from "./doc.ts";
export {
  ASCIIDOC_OS_NAME,
  captionOf,
  RENDER_SELECTIONS,
  type RenderedTable,
  type RenderWhat,
  streamTables,
  TABLE_KINDS,
  TABLE_SPECS,
  type TableKind,
  type TableSelection,
} from "./tables.ts";
export { RENDER_FORMATS, type RenderFormat, renderTables, type TablesJson, tablesJson } from "./write.ts";
