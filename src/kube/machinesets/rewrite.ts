/**
 * Writes MachineSets back with only their image fields changed. Each change is spliced into
 * the input text at the source range the `yaml` parser reports for the node, descending
 * into mappings and lists so that usually one scalar's bytes change, and a key a mapping
 * gains (an Azure image's `type`) is inserted as one line: comments, key order, quoting,
 * indentation and document separators stay as they were, in YAML and in JSON. Where a whole
 * YAML node must be written anew, a comment inside it would be lost, so nothing is written.
 * The result is parsed again and must equal the input with the changes applied, or nothing
 * is written.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  type Node,
  type Pair,
  parse as parseYaml,
  type Scalar,
  stringify as stringifyYaml,
  type YAMLMap,
} from "yaml";
import { isDeepEqual } from "../../canonical/equal.ts";
import { BootstreamError } from "../../errors.ts";
import { isPlainObject } from "../../schema/documents.ts";
import { hasControlCharacter } from "../../schema/text.ts";
import { type KubeFormat, type KubeObject, type KubeObjects, parseKubeObjects } from "../objects.ts";
import { PROVIDER_SPEC_VALUE } from "./patch.ts";
import type { ImageChange, Json } from "./types.ts";

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
  /** The document being rewritten: aliases and merge keys resolve against it. */
  doc?: Document.Parsed;
}

function layoutOf(parsed: KubeObjects): Layout {
  const jsonIndent = /\n([ \t]+)"/.exec(parsed.text)?.[1] ?? "    ";
  return {
    format: parsed.format,
    text: parsed.text,
    newline: parsed.text.includes("\r\n") ? "\r\n" : "\n",
    // A key line, then a `- ` item at the key's own column: oc's unindented lists (CRLF too).
    indentSeq: !/^( *)[^\s#-][^\r\n]*:\r?\n\1- /m.test(parsed.text),
    jsonIndent,
  };
}

const PLAIN_SAFE = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;

/** Whether `value` written plain reads back as the same string, in YAML 1.2 and in 1.1 (kubectl, oc: `on` is true, `0777` octal). */
function isPlainString(value: string): boolean {
  return (
    PLAIN_SAFE.test(value) && parseYaml(value) === value && parseYaml(value, { version: "1.1" }) === value
  );
}

function renderScalar(value: unknown, node: Scalar, layout: Layout): string {
  if (layout.format === "json" || typeof value !== "string") return JSON.stringify(value);
  const original = typeof node.value === "string" ? node.value : "";
  switch (node.type) {
    case "QUOTE_SINGLE":
    case "QUOTE_DOUBLE":
      // Quotes a writer chose (the value needed none) stay; quotes the old value needed (`""`, "0777") go where the new one needs none, as oc writes.
      if (!isPlainString(original) && isPlainString(value)) return value;
      if (node.type === "QUOTE_SINGLE" && !hasControlCharacter(value))
        return `'${value.replaceAll("'", "''")}'`;
      return JSON.stringify(value);
    default:
      // Plain, or a block scalar (`|-`): a block cannot follow its key on the same line as flow text can.
      return isPlainString(value) ? value : JSON.stringify(value); // a JSON string is a YAML double-quoted scalar
  }
}

function lineIndent(text: string, offset: number): { column: number; leading: string } {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const leading = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? "";
  return { column: offset - lineStart, leading };
}

function withNewline(text: string, layout: Layout): string {
  return layout.newline === "\n" ? text : text.replaceAll("\n", layout.newline);
}

/** Whether YAML source text holds a comment (the lexer's view; a `#` inside a quoted scalar is none). */
function hasComment(source: string): boolean {
  let scalarSource = false;
  for (const token of new Lexer().lex(source)) {
    if (scalarSource) scalarSource = false;
    else if (token === "\x1f") scalarSource = true;
    else if (token.startsWith("#")) return true;
  }
  return false;
}

function renderNode(node: Node, value: unknown, layout: Layout, range: [number, number]): string {
  const original = layout.text.slice(range[0], range[1]);
  if (layout.format === "yaml" && hasComment(original))
    throw new Error("a comment inside the image field would be lost by rewriting it whole");
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
    rendered = stringifyYaml(value, { lineWidth: 0, indentSeq: layout.indentSeq, version: "1.1" });
    if (!original.endsWith("\n")) rendered = rendered.replace(/\n$/, "");
    rendered = rendered.replace(/\n(?!$)/g, `\n${" ".repeat(column)}`);
  }
  return withNewline(rendered, layout);
}

function keyOf(pair: Pair): string | undefined {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}

/**
 * The splices that add the keys `value` has and the block mapping `node` lacks, each as one
 * `key: value` line at its place in `value`'s key order; false when that cannot be done
 * (a key whose value is not a scalar, a key that would be written differently).
 */
function insertKeys(node: YAMLMap, keys: string[], value: Json, layout: Layout, out: Splice[]): boolean {
  const pairs = node.items as Pair[];
  const first = (pairs[0]?.key as Node | undefined)?.range;
  const last = (pairs[pairs.length - 1]?.value as Node | null | undefined)?.range;
  if (first == null || last == null) return false;
  const indent = " ".repeat(lineIndent(layout.text, first[0]).column);
  const order = Object.keys(value);
  const splices: Splice[] = [];
  for (const [i, key] of order.entries()) {
    if (keys.includes(key)) continue;
    const v = value[key];
    if (!isPlainString(key) || (v !== null && typeof v === "object")) return false;
    const line = `${key}: ${typeof v === "string" && isPlainString(v) ? v : JSON.stringify(v)}`;
    const next = order.slice(i + 1).find((k) => keys.includes(k));
    const before =
      next === undefined ? undefined : (pairs[keys.indexOf(next)]?.key as Node | undefined)?.range;
    if (before != null) {
      // Before the next kept key, which starts its line (or follows a `- ` on it): the new line takes its column.
      splices.push({ start: before[0], end: before[0], text: withNewline(`${line}\n${indent}`, layout) });
    } else {
      // After the last pair: at the start of the line after its value (a comment on that line stays there).
      const text = layout.text;
      let at = last[1];
      if (text[at - 1] !== "\n") {
        const eol = text.indexOf("\n", at);
        at = eol === -1 ? text.length : eol + 1;
      }
      const lead = text[at - 1] === "\n" || at === 0 ? "" : layout.newline;
      splices.push({ start: at, end: at, text: withNewline(`${lead}${indent}${line}\n`, layout) });
    }
  }
  out.push(...splices);
  return true;
}

/** The splices that turn `node` into `value`, as few bytes as the shapes allow. */
function splicesFor(node: Node | null | undefined, value: unknown, layout: Layout, out: Splice[]): void {
  if (node === null || node === undefined || node.range === undefined || node.range === null) {
    // E.g. an image field that comes from a merge key (`<<: *base`): changing it there would change every user.
    throw new Error("cannot locate an image field in the input to rewrite it");
  }
  if (isDeepEqual(node.toJS(layout.doc as Document.Parsed, { maxAliasCount: -1 }), value)) return;
  const range: [number, number] = [node.range[0], node.range[1]];
  if (isMap(node) && isPlainObject(value) && !isAlias(node)) {
    const keys = node.items.map(keyOf);
    const wanted = Object.keys(value);
    const kept = keys.every((k): k is string => k !== undefined && Object.hasOwn(value, k));
    // Kept keys in the same order: each value in place, then the new keys (block YAML) as lines of their own.
    const sameOrder = kept && wanted.filter((k) => keys.includes(k)).join("\0") === keys.join("\0");
    if (sameOrder) {
      const known = keys as string[];
      const added = wanted.length > keys.length;
      const inserted: Splice[] = [];
      if (
        !added ||
        (layout.format === "yaml" && node.flow !== true && insertKeys(node, known, value, layout, inserted))
      ) {
        node.items.forEach((pair, i) => {
          splicesFor(pair.value as Node | null, value[known[i] as string], layout, out);
        });
        out.push(...inserted);
        return;
      }
    }
  } else if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
    node.items.forEach((item, i) => {
      splicesFor(item as Node | null, value[i], layout, out);
    });
    return;
  } else if (isScalar(node) && (value === null || typeof value !== "object")) {
    let text = renderScalar(value, node, layout);
    // A block scalar's range ends with its line break (and any blank lines after it): keep them.
    if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED")
      text += /\r?\n\s*$/.exec(layout.text.slice(range[0], range[1]))?.[0] ?? "";
    out.push({ start: range[0], end: range[1], text });
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
  if (edits.length === 0) return parsed.text;
  const layout = layoutOf(parsed);
  const splices: Splice[] = [];
  const expected = structuredClone(parsed.values);
  for (const { object, change } of edits) {
    const path = [...object.path, ...PROVIDER_SPEC_VALUE, ...change.path];
    const doc = parsed.documents[object.document];
    try {
      splicesFor(
        doc?.getIn(path, true) as Node | undefined,
        change.to,
        doc === undefined ? layout : { ...layout, doc },
        splices,
      );
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
  // The sort is stable, so several keys inserted at one place keep their order.
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
    actual = parseKubeObjects(text, name).values;
  } catch {
    throw unchanged(); // the rewritten text does not parse: our fault, not the input's
  }
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw unchanged();
  return text;
}
