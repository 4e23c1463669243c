/**
 * Number text travels as a map from JSON pointer to lexeme beside the value, so copies of the
 * value (structuredClone, spreads, diff's apply) and edits of other numbers keep every `1.0`
 * that was not itself changed, and a changed number is written as its new value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fixtureText } from "../../test/helpers/fixtures.ts";
import { applyDiff, type DiffOp } from "../diff/index.ts";
import { escapePointerToken } from "../errors.ts";
import { parseDocumentAs, toCanonicalJSON } from "../schema/parse.ts";
import { ANY } from "./layout.ts";
import { type JsonValue, parseJsonText } from "./parse.ts";
import { writeCanonical } from "./write.ts";

/** A JSON value whose numbers are integers or short decimals (each has several spellings). */
const numberArb = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(0.5, 2.25, -3.75, 1e-7));
const valueArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberArb,
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/** Other spellings of a number that read back as the same value (the first is String(n)). */
function spellings(n: number): string[] {
  const plain = Object.is(n, -0) ? "-0" : String(n);
  if (Number.isInteger(n)) return [plain, `${plain}.0`, `${plain}.00`, `${plain}e0`, `${plain}E+0`];
  return plain.includes("e") ? [plain, plain.replace("e", "E")] : [plain, `${plain}0`, `${plain}00`];
}

/** Writes `value` as JSON text, spelling each number as `pick` chooses; returns the lexemes used. */
function spell(
  value: JsonValue,
  pick: (choices: number) => number,
): { text: string; lexemes: Map<string, string> } {
  const lexemes = new Map<string, string>();
  const write = (v: JsonValue, pointer: string): string => {
    if (typeof v === "number") {
      const choices = spellings(v);
      const text = choices[pick(choices.length)] as string;
      if (text !== String(v)) lexemes.set(pointer, text);
      return text;
    }
    if (Array.isArray(v)) return `[${v.map((e, i) => write(e, `${pointer}/${i}`)).join(", ")}]`;
    if (v !== null && typeof v === "object")
      return `{${Object.entries(v)
        .map(([k, e]) => `${JSON.stringify(k)}: ${write(e, `${pointer}/${escapePointerToken(k)}`)}`)
        .join(", ")}}`;
    return JSON.stringify(v);
  };
  return { text: write(value, ""), lexemes };
}

/** The pointer of every number in `value`. */
function numberPointers(value: JsonValue, pointer = ""): string[] {
  if (typeof value === "number") return [pointer];
  if (Array.isArray(value)) return value.flatMap((e, i) => numberPointers(e, `${pointer}/${i}`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, e]) =>
      numberPointers(e, `${pointer}/${escapePointerToken(k)}`),
    );
  return [];
}

const clones: Record<string, (v: JsonValue) => JsonValue> = {
  structuredClone: (v) => structuredClone(v),
  spread: function copy(v: JsonValue): JsonValue {
    if (Array.isArray(v)) return [...v.map(copy)];
    if (v !== null && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, copy(e)]));
    return v;
  },
  "JSON round trip": (v) => JSON.parse(JSON.stringify(v)) as JsonValue,
};

describe("number lexemes carried by pointer", () => {
  it("the parser returns exactly the spellings that String(value) would not give back", () => {
    fc.assert(
      fc.property(valueArb, fc.infiniteStream(fc.nat()), (value, picks) => {
        const { text, lexemes } = spell(value, (n) => (picks.next().value as number) % n);
        const parsed = parseJsonText(text);
        assert.deepEqual(parsed.value, value);
        assert.deepEqual(parsed.lexemes, lexemes);
      }),
      { numRuns: 300 },
    );
  });

  for (const [name, clone] of Object.entries(clones)) {
    it(`${name}, then changing some numbers with diff's apply, then writing keeps every unchanged lexeme`, () => {
      fc.assert(
        fc.property(
          valueArb,
          fc.infiniteStream(fc.nat()),
          fc.infiniteStream(fc.boolean()),
          fc.constantFrom(0, 2, 4),
          (value, picks, change, indent) => {
            const source = spell(value, (n) => (picks.next().value as number) % n);
            const parsed = parseJsonText(source.text);
            // Changed numbers get a value no spelling of the old one reads as.
            const changed = numberPointers(parsed.value).filter(() => change.next().value === true);
            const ops: DiffOp[] = changed.map((path) => ({ op: "replace", path, old: null, new: 0.125 }));
            const edited = applyDiff(clone(parsed.value), ops) as JsonValue;
            const out = parseJsonText(writeCanonical(edited, ANY, { indent, lexemes: parsed.lexemes }));
            assert.deepEqual(out.value, edited);
            const kept = new Map([...parsed.lexemes].filter(([pointer]) => !changed.includes(pointer)));
            assert.deepEqual(out.lexemes, kept);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it("a changed number is written as its new value, never as the old text", () => {
    const { value, lexemes } = parseJsonText('{"a": 1.0, "b": [2.50, 3e0]}');
    const edited = structuredClone(value) as { a: number; b: number[] };
    edited.a = 2;
    edited.b[1] = 4;
    assert.equal(writeCanonical(edited, ANY, { indent: 0, lexemes }), '{"a":2,"b":[2.50,4]}\n');
  });

  it("a copy of a parsed updates document written with its lexemes gives the upstream bytes back", () => {
    const text = fixtureText("fcos-stable-updates.json");
    const doc = parseDocumentAs("updates", text);
    assert.ok(doc.lexemes.size > 0, "the fixture has 1.0 and 0.0");
    assert.equal(doc.canonical, text);
    const copy = structuredClone(doc.data);
    assert.equal(toCanonicalJSON(copy, { kind: "updates", lexemes: doc.lexemes }), text);
    // Without the lexemes a plain value has only its JavaScript numbers: 1.0 becomes 1.
    assert.notEqual(toCanonicalJSON(copy, { kind: "updates" }), text);
  });
});
