/**
 * Writes MachineSets back with only their image fields changed. Each change is spliced into
 * the input text at the source range the `yaml` parser reports for the node, descending
 * into mappings and lists so that usually one scalar's bytes change: comments, key order,
 * quoting, indentation and document separators stay as they were, in YAML and in JSON. The
 * result is parsed again and must equal the input with the changes applied, or nothing is
 * written.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parse as parseYaml,
  stringify as stringifyYaml,
} from "yaml";
import { isDeepEqual } from "../../canonical/equal.ts";
import { BootstreamError } from "../../errors.ts";
import { hasControlCharacter } from "../../schema/text.ts";
import { type KubeFormat, type KubeObject, type KubeObjects, parseKubeObjects } from "./documents.ts";
import { PROVIDER_SPEC_VALUE } from "./patch.ts";
import { type ImageChange, isRecord, type Json } from "./types.ts";

export interface ObjectEdit {
  object: KubeObject;
  change: ImageChange;
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

interface Layout {
  format: KubeFormat;
  text: string;
  /** The input's line break: what we render gets it too, so a CRLF file stays CRLF. */
  newline: "\n" | "\r\n";
  /** YAML: whether block lists are indented under their key (`oc` does not indent them). */
  indentSeq: boolean;
  /** JSON: the indentation unit of the input. */
  jsonIndent: string;
}

function layoutOf(parsed: KubeObjects): Layout {
  const jsonIndent = /\n([ \t]+)"/.exec(parsed.text)?.[1] ?? "    ";
  return {
    format: parsed.format,
    text: parsed.text,
    newline: parsed.text.includes("\r\n") ? "\r\n" : "\n",
    indentSeq: !/^( *)[^\s#-][^\n]*:\n\1- /m.test(parsed.text),
    jsonIndent,
  };
}

const PLAIN_SAFE = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;

function isPlainString(value: string): boolean {
  return parseYaml(value) === value && parseYaml(value, { version: "1.1" }) === value;
}

function renderScalar(value: unknown, node: Node | null, layout: Layout): string {
  if (layout.format === "json" || typeof value !== "string") return JSON.stringify(value);
  const style = isScalar(node) ? node.type : undefined;
  // A plain scalar stays plain only if it reads back as the same string (not 123, true or null),
  // also in YAML 1.1, which kubectl and oc read (sigs.k8s.io/yaml: `on` is true, `0777` octal).
  if (style === "PLAIN" && PLAIN_SAFE.test(value) && isPlainString(value)) return value;
  if (style === "QUOTE_SINGLE" && !hasControlCharacter(value)) return `'${value.replaceAll("'", "''")}'`;
  return JSON.stringify(value); // a JSON string is a YAML double-quoted scalar
}

function lineIndent(text: string, offset: number): { column: number; leading: string } {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const leading = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? "";
  return { column: offset - lineStart, leading };
}

function renderNode(node: Node, value: unknown, layout: Layout, range: [number, number]): string {
  const original = layout.text.slice(range[0], range[1]);
  // Only a block collection can take a block in its place: an alias (`ami: *ref`) or a
  // scalar sits after its key on the same line, where only flow text is valid YAML.
  const block = (isMap(node) || isSeq(node)) && node.flow !== true;
  let rendered: string;
  if (layout.format === "json" || !block) {
    if (!original.includes("\n")) return JSON.stringify(value);
    const { leading } = lineIndent(layout.text, range[0]);
    rendered = JSON.stringify(value, null, layout.jsonIndent).replaceAll("\n", `\n${leading}`);
  } else {
    const { column } = lineIndent(layout.text, range[0]);
    rendered = stringifyYaml(value, { lineWidth: 0, indentSeq: layout.indentSeq });
    if (!original.endsWith("\n")) rendered = rendered.replace(/\n$/, "");
    rendered = rendered.replace(/\n(?!$)/g, `\n${" ".repeat(column)}`);
  }
  return layout.newline === "\n" ? rendered : rendered.replaceAll("\n", layout.newline);
}

/** The splices that turn `node` into `value`, as few bytes as the shapes allow. */
function splicesFor(node: Node | null | undefined, value: unknown, layout: Layout, out: Splice[]): void {
  if (node === null || node === undefined || node.range === undefined || node.range === null) {
    // E.g. an image field that comes from a merge key (`<<: *base`): changing it there would change every user.
    throw new BootstreamError("INVALID_DOCUMENT", "cannot locate an image field in the input to rewrite it");
  }
  if (isDeepEqual(node.toJSON(), value)) return;
  const range: [number, number] = [node.range[0], node.range[1]];
  if (isMap(node) && isRecord(value) && !isAlias(node)) {
    const keys = node.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : undefined));
    const wanted = Object.keys(value);
    if (keys.length === wanted.length && keys.every((k) => k !== undefined && Object.hasOwn(value, k))) {
      node.items.forEach((pair, i) => {
        splicesFor(pair.value as Node | null, (value as Json)[keys[i] as string], layout, out);
      });
      return;
    }
  } else if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
    node.items.forEach((item, i) => {
      splicesFor(item as Node | null, value[i], layout, out);
    });
    return;
  } else if (isScalar(node) && (value === null || typeof value !== "object")) {
    out.push({ start: range[0], end: range[1], text: renderScalar(value, node, layout) });
    return;
  }
  out.push({ start: range[0], end: range[1], text: renderNode(node, value, layout, range) });
}

function setAt(target: unknown, path: readonly (string | number)[], value: unknown): void {
  let at = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1] as string | number] = value;
}

/** The input text with every edit applied; refuses (INVALID_DOCUMENT) if anything else would change. */
export function rewriteObjects(parsed: KubeObjects, edits: readonly ObjectEdit[], name: string): string {
  const layout = layoutOf(parsed);
  const splices: Splice[] = [];
  const expected = parsed.documents.map((doc) => doc.toJS({ maxAliasCount: -1 }) as unknown);
  for (const { object, change } of edits) {
    const path = [...object.path, ...PROVIDER_SPEC_VALUE, ...change.path];
    const doc = parsed.documents[object.document];
    try {
      splicesFor(doc?.getIn(path, true) as Node | undefined, change.to, layout, splices);
    } catch (cause) {
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${name}: ${object.where}: ${(cause as Error).message}; nothing written`,
        { path: name, cause },
      );
    }
    setAt(expected[object.document], path, change.to);
  }
  // One pass over the text: splicing a string per change is quadratic in a List of thousands.
  splices.sort((a, b) => a.start - b.start);
  const pieces: string[] = [];
  let at = 0;
  for (const s of splices) {
    if (s.start < at)
      throw new BootstreamError("INVALID_DOCUMENT", `${name}: overlapping image fields; nothing written`, {
        path: name,
      });
    pieces.push(parsed.text.slice(at, s.start), s.text);
    at = s.end;
  }
  pieces.push(parsed.text.slice(at));
  const text = pieces.join("");
  const unchanged = () =>
    new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}: the image fields could not be rewritten without changing other fields; nothing written`,
      { path: name },
    );
  let actual: unknown[];
  try {
    actual = parseKubeObjects(text, name).documents.map((doc) => doc.toJS({ maxAliasCount: -1 }) as unknown);
  } catch {
    throw unchanged(); // the rewritten text does not parse: our fault, not the input's
  }
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw unchanged();
  return text;
}
