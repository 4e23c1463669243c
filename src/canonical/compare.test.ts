import assert from "node:assert/strict";
import { test } from "node:test";
import { describeDifference } from "./compare.ts";
import { isDeepEqual } from "./equal.ts";

const canonical = '{\n    "a": 1,\n    "b": 2\n}\n';

test("describeDifference: equal, missing final newline, extra newlines, first differing line", () => {
  assert.equal(describeDifference(canonical, canonical), undefined);
  assert.equal(describeDifference(canonical.slice(0, -1), canonical), "missing final newline");
  assert.equal(describeDifference(`${canonical}\n\n`, canonical), "extra newlines at the end");
  assert.equal(
    describeDifference('{\n    "a": 1,\n  "b": 2\n}\n', canonical),
    "differs from canonical form at line 3",
  );
  assert.equal(describeDifference('{"a":1,"b":2}\n', canonical), "differs from canonical form at line 1");
});

test("describeDifference: a kind written without a final newline (build meta.json)", () => {
  const noNewline = canonical.slice(0, -1);
  assert.equal(describeDifference(noNewline, noNewline), undefined);
  assert.equal(describeDifference(canonical, noNewline), "differs from canonical form at line 5");
});

test("isDeepEqual: key order ignored, array order kept, -0 is not 0, types distinct", () => {
  assert.ok(isDeepEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
  assert.ok(!isDeepEqual([1, 2], [2, 1]));
  assert.ok(!isDeepEqual(0, -0));
  assert.ok(isDeepEqual(Number.NaN, Number.NaN));
  assert.ok(!isDeepEqual([], {}));
  assert.ok(!isDeepEqual({ a: undefined }, { b: undefined }));
  assert.ok(!isDeepEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!isDeepEqual(null, {}));
  assert.ok(!isDeepEqual("1", 1));
});
