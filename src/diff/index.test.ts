import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { BootstreamError } from "../errors.ts";
import { applyDiff, type DiffOp, diffJson } from "./index.ts";

function code(error: unknown): string | undefined {
  return error instanceof BootstreamError ? error.code : undefined;
}

describe("diffJson", () => {
  test("equal documents give no operations", () => {
    assert.deepEqual(diffJson({ a: [1, { b: null }] }, { a: [1, { b: null }] }), []);
  });

  test("add, remove and replace carry old and new values, keys in byte order", () => {
    const ops = diffJson({ b: 1, a: "x", c: true }, { b: 2, a: "x", d: [1] });
    assert.deepEqual(ops, [
      { op: "replace", path: "/b", old: 1, new: 2 },
      { op: "remove", path: "/c", old: true },
      { op: "add", path: "/d", new: [1] },
    ]);
  });

  test("a changed type is one replace of the whole value", () => {
    assert.deepEqual(diffJson({ a: { x: 1 } }, { a: [1] }), [
      { op: "replace", path: "/a", old: { x: 1 }, new: [1] },
    ]);
    assert.deepEqual(diffJson(1, "1"), [{ op: "replace", path: "", old: 1, new: "1" }]);
  });

  test("arrays: common prefix element-wise, growth as adds, shrinking as removes from the end", () => {
    assert.deepEqual(diffJson([1, 2], [1, 3, 4, 5]), [
      { op: "replace", path: "/1", old: 2, new: 3 },
      { op: "add", path: "/2", new: 4 },
      { op: "add", path: "/3", new: 5 },
    ]);
    assert.deepEqual(diffJson([1, 2, 3, 4], [1]), [
      { op: "remove", path: "/3", old: 4 },
      { op: "remove", path: "/2", old: 3 },
      { op: "remove", path: "/1", old: 2 },
    ]);
  });

  test('keys with "/" and "~" are escaped in pointers (RFC 6901)', () => {
    const ops = diffJson({ "a/b": 1, "c~d": { "~/": 1 } }, { "a/b": 2, "c~d": { "~/": 2 } });
    assert.deepEqual(
      ops.map((o) => o.path),
      ["/a~1b", "/c~0d/~0~1"],
    );
    assert.deepEqual(applyDiff({ "a/b": 1, "c~d": { "~/": 1 } }, ops), { "a/b": 2, "c~d": { "~/": 2 } });
  });

  test("-0 and 0 differ (they are written differently)", () => {
    assert.deepEqual(diffJson({ n: 0 }, { n: -0 }), [{ op: "replace", path: "/n", old: 0, new: -0 }]);
  });
});

describe("applyDiff", () => {
  test("does not change its input", () => {
    const doc = { a: [1, 2], b: { c: 1 } };
    const copy = structuredClone(doc);
    const out = applyDiff(doc, diffJson(doc, { a: [], b: {} }));
    assert.deepEqual(out, { a: [], b: {} });
    assert.deepEqual(doc, copy);
  });

  test('a "__proto__" key stays data', () => {
    const b = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const out = applyDiff({}, diffJson({}, b)) as Record<string, unknown>;
    assert.ok(Object.hasOwn(out, "__proto__"));
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('"-" appends to an array', () => {
    assert.deepEqual(applyDiff([1], [{ op: "add", path: "/-", new: 2 }]), [1, 2]);
  });

  test("replacing the root replaces the document; adding or removing it is USAGE", () => {
    assert.deepEqual(applyDiff({ a: 1 }, [{ op: "replace", path: "", old: { a: 1 }, new: [2] }]), [2]);
    for (const op of [
      { op: "add", path: "", new: 1 },
      { op: "remove", path: "", old: 1 },
    ] satisfies DiffOp[]) {
      assert.throws(
        () => applyDiff({}, [op]),
        (e) => code(e) === "USAGE",
      );
    }
  });

  test("an array index out of range, or not a number, is USAGE", () => {
    for (const path of ["/5", "/-1", "/x", "/1.5"]) {
      assert.throws(
        () => applyDiff([1], [{ op: "add", path, new: 0 }]),
        (e) => code(e) === "USAGE",
        path,
      );
    }
  });

  test("an operation under a missing parent is USAGE", () => {
    assert.throws(
      () => applyDiff({ a: 1 }, [{ op: "add", path: "/x/y", new: 0 }]),
      (e) => code(e) === "USAGE",
    );
  });

  test("a pointer without a leading slash is USAGE", () => {
    assert.throws(
      () => applyDiff({ a: 1 }, [{ op: "remove", path: "a", old: 1 }]),
      (e) => code(e) === "USAGE",
    );
  });
});

describe("property", () => {
  const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom("/", "~", "~1", "a/b", "~0", "-", "0"));
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 6 }),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
    ),
  })).value;

  test("applyDiff(a, diffJson(a, b)) deep-equals b", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        assert.deepEqual(applyDiff(a, diffJson(a, b)), b);
      }),
      { numRuns: 300 },
    );
  });

  test("diffJson(a, a) is empty", () => {
    fc.assert(
      fc.property(json, (a) => {
        assert.deepEqual(diffJson(a, structuredClone(a)), []);
      }),
      { numRuns: 200 },
    );
  });
});
