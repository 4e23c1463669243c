import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ANY, layoutOf } from "../src/canonical/layout.ts";
import { parseJson, parseJsonText } from "../src/canonical/parse.ts";
import { detectIndent, writeCanonical } from "../src/canonical/write.ts";
import { checkDocument, parseDocument, toCanonicalJSON } from "../src/index.ts";
import { streamSchema } from "../src/schema/stream.ts";
import { fixtureText } from "./helpers/fixtures.ts";

/** Re-serialises a fixture the way `fmt` does: its own kind and indent. */
function roundTrip(name: string): { text: string; out: string } {
  const text = fixtureText(name);
  return { text, out: parseDocument(text).canonical };
}

describe("canonical serialiser on upstream fixtures", () => {
  // Files upstream already wrote in Go order and layout: they must come back byte for byte.
  for (const name of [
    "fcos-stable-stream.json",
    "fcos-stable-stream-2020.json",
    "rhcos-installer-stream.json",
    "fcos-stable-updates.json",
    "cosa-meta-fcos.json",
  ]) {
    it(`round-trips ${name} byte for byte`, () => {
      const { text, out } = roundTrip(name);
      assert.equal(out, text);
    });
  }

  it("gives rhcos-4.8-stream.json back unchanged except the missing final newline (no release or images added)", () => {
    // Upstream's Go library adds "release": "" to the GCP image here; bootstream must not.
    const { text, out } = roundTrip("rhcos-4.8-stream.json");
    assert.equal(text.endsWith("\n"), false, "the fixture itself lacks a final newline");
    assert.equal(out, `${text}\n`);
    assert.equal(out.includes('"release": ""'), false);
  });

  it("gives cosa-meta-rhcos.json back in producer order, without the final newline its upstream edit added", () => {
    // Build meta has no Go writer that defines an order; the producer's order is canonical, and
    // cosa's json.dump(indent=4) writes no final newline (this fixture was edited by hand upstream).
    const { text, out } = roundTrip("cosa-meta-rhcos.json");
    assert.equal(text.endsWith("\n"), true);
    assert.equal(out, text.slice(0, -1));
  });

  it("sorts the hand-edited artifacts of smg-fcos-stream.json (kubevirt after openstack upstream)", () => {
    const { text, out } = roundTrip("smg-fcos-stream.json");
    assert.notEqual(out, text);
    assert.ok(text.indexOf('"kubevirt"') > text.indexOf('"openstack"'));
    assert.ok(out.indexOf('"kubevirt"') < out.indexOf('"openstack"'));
    // Same content: only the order changed.
    assert.deepEqual(JSON.parse(out), JSON.parse(text));
  });

  it("puts smg-fcos-release.json (Python insertion order) into Go order without changing content", () => {
    const { text, out } = roundTrip("smg-fcos-release.json");
    assert.notEqual(out, text);
    assert.deepEqual(JSON.parse(out), JSON.parse(text));
    // Python wrote aws regions unsorted; Go map order is sorted.
    assert.ok(out.indexOf('"af-south-1"') < out.indexOf('"us-east-1"'));
    assert.equal(out.includes('"metadata"'), false, "no metadata is invented");
    assert.equal(out.includes("null"), false, "no null media entries are invented");
  });

  it("writes smg-fcos-releases.json oci-images with architecture last, as Go's embedded struct does", () => {
    const { text, out } = roundTrip("smg-fcos-releases.json");
    assert.notEqual(out, text);
    assert.deepEqual(JSON.parse(out), JSON.parse(text));
    const entry = out.slice(out.indexOf('"oci-images"'));
    assert.ok(entry.indexOf('"digest-ref"') < entry.indexOf('"architecture"'));
  });

  it("is idempotent on every fixture", () => {
    for (const name of [
      "smg-fcos-stream.json",
      "smg-fcos-release.json",
      "smg-fcos-releases.json",
      "rhcos-4.8-stream.json",
    ]) {
      const { out } = roundTrip(name);
      const again = toCanonicalJSON(parseDocument(out).data, { indent: detectIndent(out) ?? 4 });
      assert.equal(again, out, name);
    }
  });

  it("re-indents a 4-space stream to 2 spaces and back to the same bytes", () => {
    const text = fixtureText("fcos-stable-stream.json");
    const data = parseDocument(text).data;
    const two = toCanonicalJSON(data, { kind: "stream", indent: 2 });
    assert.ok(two.startsWith('{\n  "stream": "stable",\n  "metadata": {\n    "last-modified"'));
    assert.equal(toCanonicalJSON(parseDocument(two).data, { kind: "stream", indent: 4 }), text);
  });
});

describe("canonical writer details", () => {
  it("keeps the source text of floats such as 1.0 and 0.0", () => {
    const text = '{\n  "a": 1.0,\n  "b": [0.0, 1e3, 2.50],\n  "c": 7\n}\n';
    const { value, lexemes } = parseJsonText(text);
    const out = writeCanonical(value, ANY, { indent: 2, lexemes });
    assert.equal(out, '{\n  "a": 1.0,\n  "b": [\n    0.0,\n    1e3,\n    2.50\n  ],\n  "c": 7\n}\n');
  });

  it("escapes <, > and & like Go, writes non-ASCII raw, leaves / alone", () => {
    const out = writeCanonical({ k: "a<b>&c/é\u2028" }, ANY, { indent: 0 });
    assert.equal(out, '{"k":"a\\u003cb\\u003e\\u0026c/é\\u2028"}\n');
  });

  it("writes empty maps and arrays as {} and [], and compact output at indent 0", () => {
    assert.equal(writeCanonical({ b: {}, a: [] }, ANY, { indent: 4 }), '{\n    "a": [],\n    "b": {}\n}\n');
    assert.equal(
      writeCanonical({ b: [1, 2], a: { y: 1, x: 2 } }, ANY, { indent: 0 }),
      '{"a":{"x":2,"y":1},"b":[1,2]}\n',
    );
  });

  it("orders known fields by declaration and puts unknown fields after them, sorted", () => {
    const layout = layoutOf(streamSchema);
    const value = {
      zeta: 1,
      architectures: {},
      alpha: 2,
      metadata: { generator: "g", "last-modified": "x" },
      stream: "s",
    };
    const out = writeCanonical(value, layout, { indent: 0 });
    assert.equal(
      out,
      '{"stream":"s","metadata":{"last-modified":"x","generator":"g"},"architectures":{},"alpha":2,"zeta":1}\n',
    );
  });

  it("sorts map keys by byte value, not by locale", () => {
    const out = writeCanonical({ b: 1, B: 2, a: 3, "a-b": 4, a_b: 5 }, ANY, { indent: 0 });
    assert.equal(out, '{"B":2,"a":3,"a-b":4,"a_b":5,"b":1}\n');
  });

  it("refuses an indent outside 0..16", () => {
    assert.throws(() => writeCanonical({}, ANY, { indent: 17 }), { code: "USAGE" });
  });
});

/** JSON values without -0 ambiguity problems: fast-check's JSON arbitrary. */
const jsonArb = fc.jsonValue({ maxDepth: 3 });

/** Plain-prototype dictionaries: parsed JSON objects have Object.prototype. */
const dict = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>) =>
  fc.dictionary(key, value, { noNullPrototype: true, maxKeys: 3 });
const shaArb = fc.stringMatching(/^[0-9a-f]{64}$/);
const nameArb = fc.constantFrom("x86_64", "aarch64", "s390x", "ppc64le", "riscv64");
const platformArb = fc.constantFrom("metal", "aws", "qemu", "gcp", "qemu-secex", "azure", "new-cloud");
const formatArb = fc.constantFrom("iso", "pxe", "raw.xz", "4k.raw.xz", "qcow2.xz", "tar.gz");
const urlArb = fc.stringMatching(/^https:\/\/[a-z]{1,10}\.example\/[a-z0-9._/-]{0,30}$/);
const artifactArb = fc.record(
  {
    location: urlArb,
    signature: urlArb,
    sha256: shaArb,
    "uncompressed-sha256": shaArb,
    "x-unknown": jsonArb,
  },
  { requiredKeys: ["location", "sha256"] },
);
/** Parsed JSON never has null-prototype objects; fast-check's records may. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const streamArb = fc
  .record({
    stream: fc.stringMatching(/^[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?$/),
    metadata: fc.record(
      { "last-modified": fc.constant("2024-05-31T14:21:46Z"), generator: fc.string() },
      { requiredKeys: ["last-modified"] },
    ),
    architectures: dict(
      nameArb,
      fc.record(
        {
          artifacts: dict(
            platformArb,
            fc.record({
              release: fc.constant("44.20260707.3.1"),
              formats: dict(
                formatArb,
                fc.record(
                  { disk: artifactArb, kernel: artifactArb, initramfs: artifactArb, rootfs: artifactArb },
                  { requiredKeys: [] },
                ),
              ),
            }),
          ),
          images: fc.record(
            {
              aws: fc.record({
                regions: dict(
                  fc.stringMatching(/^[a-z]{2}-[a-z]+-[1-9]$/),
                  fc.record({ release: fc.constant("1.2"), image: fc.string({ minLength: 1 }) }),
                ),
              }),
              gcp: fc.record({
                release: fc.constant("1.2"),
                project: fc.stringMatching(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/),
                name: fc.stringMatching(/^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/),
              }),
            },
            { requiredKeys: [] },
          ),
          "extra-field": jsonArb,
        },
        { requiredKeys: ["artifacts"] },
      ),
    ),
  })
  .map(plain);

/** The same value with every object's keys in a different insertion order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  entries.sort((a, b) => ((hash(a[0]) ^ seed) % 7) - ((hash(b[0]) ^ seed) % 7));
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}

describe("canonical serialiser properties", () => {
  it("parse(serialise(x)) equals x for any JSON value, at any indent", () => {
    fc.assert(
      fc.property(jsonArb, fc.constantFrom(0, 2, 4), (value, indent) => {
        const text = writeCanonical(value, ANY, { indent });
        assert.deepEqual(parseJson(text), value);
      }),
      { numRuns: 300 },
    );
  });

  it("serialise is idempotent and independent of input key order for streams", () => {
    const layout = layoutOf(streamSchema);
    fc.assert(
      fc.property(streamArb, fc.nat(), fc.constantFrom(0, 2, 4), (stream, seed, indent) => {
        const once = writeCanonical(stream, layout, { indent });
        const parsed = parseJson(once);
        assert.deepEqual(parsed, stream);
        assert.equal(writeCanonical(parsed, layout, { indent }), once);
        assert.equal(writeCanonical(shuffleKeys(stream, seed), layout, { indent }), once);
      }),
      { numRuns: 200 },
    );
  });

  it("generated streams validate, so the property covers real shapes", () => {
    fc.assert(
      fc.property(streamArb, (stream) => {
        const check = checkDocument(stream, { kind: "stream" });
        assert.deepEqual(check.issues, []);
      }),
      { numRuns: 50 },
    );
  });
});
