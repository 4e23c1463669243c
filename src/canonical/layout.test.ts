import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { ANY, childLayout, compareKeys, type Layout, layoutOf, orderedKeys, PRESERVE } from "./layout.ts";

const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

describe("compareKeys", () => {
  test("byte order, not locale order", () => {
    assert.deepEqual(["b", "B", "a", "_", "A", "aa", ""].sort(compareKeys), [
      "",
      "A",
      "B",
      "_",
      "a",
      "aa",
      "b",
    ]);
  });

  test("astral characters sort above U+E000..U+FFFF, as in UTF-8", () => {
    assert.ok(compareKeys("\u{10000}", "\uFFFF") > 0);
    assert.ok(compareKeys("\uE000", "\u{1F600}") < 0);
    assert.ok(compareKeys("\uD7FF", "\u{10000}") < 0);
  });

  test("agrees with UTF-8 byte comparison (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        assert.equal(Math.sign(compareKeys(a, b)), Math.sign(utf8Compare(a, b)));
      }),
      { numRuns: 500 },
    );
  });
});

describe("layoutOf", () => {
  const schema = z.object({
    stream: z.string(),
    metadata: z.object({ "last-modified": z.string() }).optional(),
    architectures: z.record(
      z.string(),
      z.object({ artifacts: z.array(z.object({ b: z.string(), a: z.string() })) }),
    ),
    other: z.union([z.string(), z.number()]).nullable(),
  });
  const layout = layoutOf(schema);

  test("object -> struct in shape order; optional/nullable unwrap; record -> map; array -> array; else any", () => {
    assert.equal(layout.kind, "struct");
    assert.ok(layout.kind === "struct");
    assert.deepEqual([...layout.fields.keys()], ["stream", "metadata", "architectures", "other"]);
    assert.equal(layout.fields.get("metadata")?.kind, "struct");
    const arches = layout.fields.get("architectures");
    assert.equal(arches?.kind, "map");
    const artifacts = childLayout(childLayout(arches as Layout, "x86_64"), "artifacts");
    assert.equal(artifacts.kind, "array");
    const element = childLayout(artifacts, "");
    assert.ok(element.kind === "struct");
    assert.deepEqual([...element.fields.keys()], ["b", "a"]);
    assert.equal(layout.fields.get("other"), ANY);
    assert.equal(layout.fields.get("stream"), ANY);
  });

  test("layouts are cached per schema", () => {
    assert.equal(layoutOf(schema), layout);
  });

  test("childLayout: unknown struct field is ANY; any and preserve pass themselves down", () => {
    assert.equal(childLayout(layout, "nope"), ANY);
    assert.equal(childLayout(ANY, "x"), ANY);
    assert.equal(childLayout(PRESERVE, "x"), PRESERVE);
  });
});

describe("orderedKeys", () => {
  const struct = layoutOf(z.object({ z: z.string(), a: z.string() }));

  test("struct: known fields in declaration order, present ones only, then unknown sorted", () => {
    assert.deepEqual(orderedKeys({ y: 1, a: 1, b: 1, z: 1 }, struct), ["z", "a", "b", "y"]);
    assert.deepEqual(orderedKeys({ a: 1 }, struct), ["a"]);
  });

  test("map and any sort; preserve keeps insertion order", () => {
    const map = layoutOf(z.record(z.string(), z.number()));
    assert.deepEqual(orderedKeys({ b: 1, a: 2, A: 3 }, map), ["A", "a", "b"]);
    assert.deepEqual(orderedKeys({ b: 1, a: 2 }, ANY), ["a", "b"]);
    assert.deepEqual(orderedKeys({ b: 1, a: 2 }, PRESERVE), ["b", "a"]);
  });

  test("inherited keys named like struct fields are not taken as present", () => {
    const withProto = layoutOf(z.object({ toString: z.string(), a: z.string() }));
    assert.deepEqual(orderedKeys({ a: 1 }, withProto), ["a"]);
  });
});
