/**
 * The key order of a document, derived from its zod schema so schema and layout cannot
 * drift: a zod object's shape lists fields in Go declaration order, a zod record is a Go
 * map (keys byte-sorted), a zod array keeps element order.
 */
import { z } from "zod";

export type Layout =
  /** Go struct: known fields in declaration order, then unknown fields byte-sorted. */
  | { readonly kind: "struct"; readonly fields: ReadonlyMap<string, Layout> }
  /** Go map: all keys byte-sorted. */
  | { readonly kind: "map"; readonly value: Layout }
  | { readonly kind: "array"; readonly element: Layout }
  /** Unknown content: objects keep Go's map behaviour (keys sorted), recursively. */
  | { readonly kind: "any" }
  /** Producer order: objects keep the key order they were parsed with, recursively. */
  | { readonly kind: "preserve" };

export const ANY: Layout = { kind: "any" };
export const PRESERVE: Layout = { kind: "preserve" };

const cache = new WeakMap<z.ZodType, Layout>();

export function layoutOf(schema: z.ZodType): Layout {
  const hit = cache.get(schema);
  if (hit !== undefined) return hit;
  const layout = derive(schema);
  cache.set(schema, layout);
  return layout;
}

function derive(schema: z.ZodType): Layout {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
    return layoutOf(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodObject) {
    const fields = new Map<string, Layout>();
    for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      fields.set(key, layoutOf(field));
    }
    return { kind: "struct", fields };
  }
  if (schema instanceof z.ZodRecord) return { kind: "map", value: layoutOf(schema.valueType as z.ZodType) };
  if (schema instanceof z.ZodArray) return { kind: "array", element: layoutOf(schema.element as z.ZodType) };
  return ANY;
}

/** Byte-order comparison of keys, as Go sorts map keys (not localeCompare, not UTF-16). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // For BMP text UTF-16 code unit order equals UTF-8 byte order; astral characters
  // (surrogates 0xD800-0xDFFF) sort above U+E000-U+FFFF in UTF-8, so fix those up.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** The keys of `obj` in the order `layout` prescribes. */
export function orderedKeys(obj: object, layout: Layout): string[] {
  const keys = Object.keys(obj);
  switch (layout.kind) {
    case "preserve":
      return keys;
    case "struct": {
      const known: string[] = [];
      const unknown: string[] = [];
      for (const key of layout.fields.keys()) if (Object.hasOwn(obj, key)) known.push(key);
      for (const key of keys) if (!layout.fields.has(key)) unknown.push(key);
      return unknown.length === 0 ? known : known.concat(unknown.sort(compareKeys));
    }
    default:
      return isSorted(keys) ? keys : keys.sort(compareKeys);
  }
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if (compareKeys(keys[i - 1] as string, keys[i] as string) > 0) return false;
  return true;
}

/** The layout of the value found under `key` of a container laid out as `layout`. */
export function childLayout(layout: Layout, key: string): Layout {
  switch (layout.kind) {
    case "struct":
      return layout.fields.get(key) ?? ANY;
    case "map":
      return layout.value;
    case "array":
      return layout.element;
    default:
      return layout;
  }
}
