import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BootstreamError } from "../errors.ts";
import { decodeUtf8, lineAndColumn, MAX_DEPTH, numberSourceText, parseJson, parseJsonText } from "./parse.ts";

/** The error parseJson throws for `text`: INVALID_DOCUMENT with one issue at `pointer`, line and column. */
function refused(text: string, pointer: string, line: number, column: number): void {
  assert.throws(
    () => parseJson(text),
    (e: unknown) => {
      assert.ok(e instanceof BootstreamError, String(e));
      assert.equal(e.code, "INVALID_DOCUMENT");
      assert.equal(e.path, pointer);
      assert.equal(e.issues.length, 1);
      assert.equal(e.issues[0]?.pointer, pointer);
      assert.deepEqual([e.issues[0]?.line, e.issues[0]?.column], [line, column]);
      return true;
    },
    text,
  );
}

describe("parseJson refuses what is not JSON, at the right place", () => {
  test("empty, trailing content, truncation", () => {
    refused("", "", 1, 1);
    refused("  \n", "", 2, 1);
    refused("{} x", "", 1, 4);
    refused('{"a": [1, 2', "/a", 1, 12);
  });

  test("duplicate keys, at the repeated key", () => {
    refused('{"a": {"b": 1, "b": 2}}', "/a/b", 1, 16);
  });

  test("syntax inside nested values names the pointer", () => {
    refused('{"a/b": {"c~": [1, tru]}}', "/a~1b/c~0/1", 1, 20);
    refused('{\n  "a": 01\n}', "", 2, 9);
    refused('{"a": "x\ny"}', "/a", 1, 9);
    refused('{"a": "\\x"}', "/a", 1, 8);
    refused("[1,]", "/1", 1, 4);
    refused('{"a" 1}', "", 1, 6);
    refused("{1: 2}", "", 1, 2);
  });

  test("nesting deeper than MAX_DEPTH", () => {
    assert.throws(
      () => parseJson("[".repeat(MAX_DEPTH + 2)),
      (e: unknown) => e instanceof BootstreamError && e.code === "INVALID_DOCUMENT",
    );
    assert.doesNotThrow(() => parseJson(`${"[".repeat(MAX_DEPTH)}${"]".repeat(MAX_DEPTH)}`));
  });
});

describe("parseJsonText", () => {
  test("keeps only number text String(value) would not give back", () => {
    const { value, lexemes } = parseJsonText('{"a": 1.0, "b": 2, "c": [1e3, -0, 0.5, 1E+2]}');
    assert.deepEqual(value, { a: 1, b: 2, c: [1000, -0, 0.5, 100] });
    assert.deepEqual(Object.fromEntries(lexemes), {
      "/a": "1.0",
      "/c/0": "1e3",
      "/c/1": "-0",
      "/c/3": "1E+2",
    });
  });

  test("__proto__ is an own data key", () => {
    const value = parseJson('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(value, "__proto__"));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  test("numberSourceText gives the lexeme only while the value is unchanged", () => {
    const { lexemes } = parseJsonText('{"a": 1.0}');
    assert.equal(numberSourceText(lexemes, "/a", 1), "1.0");
    assert.equal(numberSourceText(lexemes, "/a", 2), undefined);
    assert.equal(numberSourceText(lexemes, "/b", 1), undefined);
  });
});

describe("decodeUtf8 and lineAndColumn", () => {
  test("invalid UTF-8 is INVALID_DOCUMENT with one issue at the document", () => {
    assert.equal(decodeUtf8(new TextEncoder().encode('{"a":"é"}')), '{"a":"é"}');
    assert.throws(
      () => decodeUtf8(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])),
      (e: unknown) =>
        e instanceof BootstreamError &&
        e.code === "INVALID_DOCUMENT" &&
        e.issues.length === 1 &&
        e.issues[0]?.pointer === "",
    );
  });

  test("lineAndColumn is 1-based", () => {
    assert.deepEqual(lineAndColumn("ab\ncd", 0), { line: 1, column: 1 });
    assert.deepEqual(lineAndColumn("ab\ncd", 4), { line: 2, column: 2 });
    assert.deepEqual(lineAndColumn("ab\ncd", 2), { line: 1, column: 3 });
  });
});
