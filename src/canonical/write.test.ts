import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { assertFails } from "../../test/helpers/errors.ts";
import { BootstreamError } from "../errors.ts";
import { ANY, layoutOf, PRESERVE } from "./layout.ts";
import { MAX_DEPTH, parseJsonText } from "./parse.ts";
import { DEFAULT_INDENT, detectIndent, goQuote, MAX_INDENT, writeCanonical } from "./write.ts";

describe("goQuote", () => {
  test("escapes <, >, &, U+2028 and U+2029 as Go's encoder does", () => {
    assert.equal(goQuote("<a href='x'>&</a>"), "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\"");
    assert.equal(goQuote("a\u2028b\u2029c"), '"a\\u2028b\\u2029c"');
  });

  test("control characters: short escapes where Go has them, \\u00xx (lower-case hex) otherwise", () => {
    assert.equal(goQuote('"\\\n\r\t\b\f'), '"\\"\\\\\\n\\r\\t\\b\\f"');
    assert.equal(goQuote("\u0000\u001f"), '"\\u0000\\u001f"');
  });

  test("other non-ASCII text, DEL and / are written as they are", () => {
    assert.equal(goQuote("é€😀\u007f/"), '"é€😀\u007f/"');
  });

  test("repeated calls are not affected by the global regexp's lastIndex", () => {
    for (let i = 0; i < 3; i++) assert.equal(goQuote("x<"), '"x\\u003c"');
  });

  test("a lone surrogate is refused or written as Go writes it (U+FFFD), never as \\ud800", () => {
    let written: string;
    try {
      const { value } = parseJsonText('"\\ud800"');
      written = writeCanonical(value, ANY, { finalNewline: false });
    } catch (e) {
      assert.ok(e instanceof BootstreamError);
      assert.equal(e.code, "INVALID_DOCUMENT");
      return;
    }
    assert.equal(written, '"\uFFFD"');
  });
});

describe("writeCanonical layout", () => {
  const value = { b: [1, { d: true, c: null }], a: "x", e: {}, f: [] };

  test("default: 4 spaces, ': ', keys byte-sorted for unknown content, one final newline", () => {
    assert.equal(DEFAULT_INDENT, 4);
    assert.equal(
      writeCanonical(value, ANY),
      '{\n    "a": "x",\n    "b": [\n        1,\n        {\n            "c": null,\n            "d": true\n        }\n    ],\n    "e": {},\n    "f": []\n}\n',
    );
  });

  test("indent 2 and indent 0 (compact, like json.Marshal); finalNewline false", () => {
    assert.equal(writeCanonical({ a: [1, 2] }, ANY, { indent: 2 }), '{\n  "a": [\n    1,\n    2\n  ]\n}\n');
    assert.equal(
      writeCanonical(value, ANY, { indent: 0 }),
      '{"a":"x","b":[1,{"c":null,"d":true}],"e":{},"f":[]}\n',
    );
    assert.equal(writeCanonical([1], ANY, { indent: 0, finalNewline: false }), "[1]");
    assert.equal(writeCanonical("s", ANY, { finalNewline: false }), '"s"');
  });

  test("PRESERVE keeps producer order", () => {
    assert.equal(writeCanonical({ z: 1, a: 2 }, PRESERVE, { indent: 0 }), '{"z":1,"a":2}\n');
  });

  test("a struct layout (from a zod object) writes fields in declaration order, unknown fields after, sorted", () => {
    const layout = layoutOf(
      z.object({ stream: z.string(), metadata: z.object({ z: z.number(), a: z.number() }) }),
    );
    const doc = { zz: 0, metadata: { a: 1, z: 2, extra: 3 }, aa: 0, stream: "s" };
    assert.equal(
      writeCanonical(doc, layout, { indent: 0 }),
      '{"stream":"s","metadata":{"z":2,"a":1,"extra":3},"aa":0,"zz":0}\n',
    );
  });

  test("a map layout (zod record) sorts keys by UTF-8 bytes, its values take the value layout", () => {
    const layout = layoutOf(z.record(z.string(), z.object({ y: z.number(), x: z.number() })));
    const doc = { "\u{1F600}": { x: 1, y: 2 }, "\uFF01": { x: 1, y: 2 }, b: { x: 1, y: 2 } };
    assert.equal(
      writeCanonical(doc, layout, { indent: 0 }),
      '{"b":{"y":2,"x":1},"\uFF01":{"y":2,"x":1},"\u{1F600}":{"y":2,"x":1}}\n',
    );
  });

  test("keys are escaped like values", () => {
    assert.equal(writeCanonical({ "<&>": 1 }, ANY, { indent: 0 }), '{"\\u003c\\u0026\\u003e":1}\n');
  });

  test("undefined fields are absent, undefined array elements null; -0 keeps its sign", () => {
    assert.equal(
      writeCanonical({ a: undefined, b: [undefined], c: -0 }, ANY, { indent: 0 }),
      '{"b":[null],"c":-0}\n',
    );
    assert.equal(writeCanonical({ a: undefined }, ANY, { indent: 2 }), "{}\n");
  });

  test("lexemes given back by pointer keep number text; a changed number is written anew", () => {
    const { value: v, lexemes } = parseJsonText('{"a": 1.0, "b": [1e2, 5]}');
    assert.equal(writeCanonical(v, ANY, { indent: 0, lexemes }), '{"a":1.0,"b":[1e2,5]}\n');
    assert.equal(writeCanonical(v, ANY, { indent: 0 }), '{"a":1,"b":[100,5]}\n');
    (v as { a: number }).a = 2;
    assert.equal(writeCanonical(v, ANY, { indent: 0, lexemes }), '{"a":2,"b":[1e2,5]}\n');
  });
});

describe("writeCanonical errors", () => {
  test("indent outside 0..MAX_INDENT or not whole is USAGE", () => {
    assert.equal(MAX_INDENT, 16);
    for (const indent of [-1, 17, 1.5, Number.NaN])
      assertFails(() => writeCanonical({}, ANY, { indent }), "USAGE");
    assert.doesNotThrow(() => writeCanonical({}, ANY, { indent: 16 }));
  });

  test("a non-finite number without a lexeme is INVALID_DOCUMENT at its pointer", () => {
    assertFails(() => writeCanonical({ a: [0, Number.POSITIVE_INFINITY] }, ANY), "INVALID_DOCUMENT", "/a/1");
    assertFails(() => writeCanonical({ "x/y": Number.NaN }, ANY), "INVALID_DOCUMENT", "/x~1y");
  });

  test("a number read as 1e400 is written back as it was read", () => {
    const { value: v, lexemes } = parseJsonText('{"n": 1e400}');
    assert.equal(writeCanonical(v, ANY, { indent: 0, lexemes }), '{"n":1e400}\n');
  });

  test("bigint, function and symbol values are INVALID_DOCUMENT", () => {
    assertFails(() => writeCanonical({ a: [1n] }, ANY), "INVALID_DOCUMENT");
    assertFails(() => writeCanonical({ f: () => 1 }, ANY), "INVALID_DOCUMENT");
    assertFails(() => writeCanonical({ s: Symbol("s") }, ANY), "INVALID_DOCUMENT");
  });

  test("the bigint error names its pointer in path, as the other write errors do", () => {
    assertFails(() => writeCanonical({ a: [1n] }, ANY), "INVALID_DOCUMENT", "/a/0");
  });

  test("a cycle or a value deeper than MAX_DEPTH is INVALID_DOCUMENT, not a stack overflow", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assertFails(() => writeCanonical(cyclic, ANY), "INVALID_DOCUMENT");
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) deep = [deep];
    assertFails(() => writeCanonical(deep, ANY), "INVALID_DOCUMENT");
  });

  test("an undefined value is INVALID_DOCUMENT", () => {
    assertFails(() => writeCanonical(undefined, ANY), "INVALID_DOCUMENT");
  });
});

describe("detectIndent", () => {
  test("reads the first indented line; compact is 0; unknown is undefined", () => {
    assert.equal(detectIndent('{\n    "a": 1\n}\n'), 4);
    assert.equal(detectIndent('{\n  "a": 1\n}'), 2);
    assert.equal(detectIndent('{"a":1}\n'), 0);
    assert.equal(detectIndent(""), undefined);
    assert.equal(detectIndent('{\n"a": 1\n}\n'), undefined);
    assert.equal(detectIndent(`{\n${" ".repeat(17)}"a": 1\n}\n`), undefined);
  });

  test("round trip: what writeCanonical writes at each indent is detected as that indent", () => {
    for (let indent = 0; indent <= MAX_INDENT; indent++) {
      assert.equal(detectIndent(writeCanonical({ a: [1] }, ANY, { indent })), indent);
    }
  });
});
