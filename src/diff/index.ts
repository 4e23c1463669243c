/**
 * Structural diff of two JSON documents as a list of operations with JSON pointers, in
 * the spirit of RFC 6902 (add / remove / replace, each carrying the old and new value),
 * so that applying the list to the old document gives the new one.
 */
import { isDeepEqual } from "../canonical/equal.ts";
import { compareKeys } from "../canonical/layout.ts";
import { BootstreamError, escapePointerToken, parsePointer } from "../errors.ts";

export type DiffOp =
  | { op: "add"; path: string; new: unknown }
  | { op: "remove"; path: string; old: unknown }
  | { op: "replace"; path: string; old: unknown; new: unknown };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every difference from `a` to `b`; empty when they are equal as JSON. */
export function diffJson(a: unknown, b: unknown): DiffOp[] {
  const ops: DiffOp[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (isObject(x) && isObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort(compareKeys);
      for (const key of keys) {
        const p = `${path}/${escapePointerToken(key)}`;
        const inX = Object.hasOwn(x, key);
        const inY = Object.hasOwn(y, key);
        if (inX && !inY) ops.push({ op: "remove", path: p, old: x[key] });
        else if (!inX && inY) ops.push({ op: "add", path: p, new: y[key] });
        else walk(x[key], y[key], p);
      }
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      const common = Math.min(x.length, y.length);
      for (let i = 0; i < common; i++) walk(x[i], y[i], `${path}/${i}`);
      for (let i = common; i < y.length; i++) ops.push({ op: "add", path: `${path}/${i}`, new: y[i] });
      // Remove from the end so earlier indices stay valid while applying.
      for (let i = x.length - 1; i >= common; i--)
        ops.push({ op: "remove", path: `${path}/${i}`, old: x[i] });
      return;
    }
    if (!isDeepEqual(x, y)) ops.push({ op: "replace", path, old: x, new: y });
  };
  walk(a, b, "");
  return ops;
}

/** Applies operations in order to a copy of `doc`. Refuses operations that do not fit it. */
export function applyDiff(doc: unknown, ops: readonly DiffOp[]): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    if (tokens.length === 0) {
      if (op.op !== "replace") throw new BootstreamError("USAGE", `cannot ${op.op} the whole document`);
      root = structuredClone(op.new);
      continue;
    }
    let parent: unknown = root;
    for (const token of tokens.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
    }
    const last = tokens.at(-1) as string;
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) {
        throw new BootstreamError("USAGE", `${op.path}: no such array index`);
      }
      if (op.op === "add") parent.splice(index, 0, structuredClone(op.new));
      else if (op.op === "remove") parent.splice(index, 1);
      else parent[index] = structuredClone(op.new);
    } else if (isObject(parent)) {
      if (op.op === "remove") delete parent[last];
      // defineProperty, so a "__proto__" key stays data instead of changing the prototype.
      else
        Object.defineProperty(parent, last, {
          value: structuredClone(op.new),
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else {
      throw new BootstreamError("USAGE", `${op.path}: the parent does not exist`);
    }
  }
  return root;
}
