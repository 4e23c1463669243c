import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runBootstream, spawnBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { sendText, startServer, type TestServer } from "./helpers/http.ts";

const dir = tempDir();
const STABLE = "fcos-stable-stream.json";
const ISO = "/architectures/x86_64/artifacts/metal/formats/iso/disk";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON in place.
type Json = Record<string, any>;

/** Writes a mutated copy of the stable stream and returns its path. */
function brokenStream(name: string, mutate: (s: Json) => void): string {
  const stream = fixtureJson<Json>(STABLE);
  mutate(stream);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(stream, null, 4));
  return path;
}

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const isoDisk = (s: Json) => s.architectures.x86_64.artifacts.metal.formats.iso.disk;

describe("bootstream validate", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ "/streams/stable.json": sendText(fixtureText(STABLE)) });
  });
  after(() => server.close());

  it("accepts every upstream document kind and exits 0", async () => {
    const names = [
      STABLE,
      "fcos-stable-stream-2020.json",
      "rhcos-4.8-stream.json",
      "rhcos-installer-stream.json",
      "smg-fcos-stream.json",
      "smg-fcos-release.json",
      "smg-fcos-releases.json",
      "fcos-stable-updates.json",
      "cosa-meta-fcos.json",
      "cosa-meta-rhcos.json",
    ];
    const run = await runBootstream(["validate", "--json", ...names.map(fixturePath)]);
    assert.equal(run.code, 0, run.stderr);
    const kinds = JSON.parse(run.stdout).map((r: Json) => r.kind);
    assert.deepEqual(kinds, [
      "stream",
      "stream",
      "stream",
      "stream",
      "stream",
      "release",
      "release-index",
      "updates",
      "build-meta",
      "build-meta",
    ]);
  });

  it("reports a bad sha256 with its pointer, the expectation and what was found", async () => {
    const file = brokenStream("upper-sha.json", (s) => {
      isoDisk(s).sha256 = "ABCDEF";
    });
    const run = await runBootstream(["validate", file]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout,
      `${file}: ${ISO}/sha256: expected a sha256 digest of 64 lowercase hex characters, found "ABCDEF"\n`,
    );
  });

  it("reports an architecture key of the wrong shape", async () => {
    const file = brokenStream("arch-key.json", (s) => {
      s.architectures["X86-64"] = s.architectures.x86_64;
    });
    const run = await runBootstream(["validate", file]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /: \/architectures\/X86-64: expected a key that is an architecture name like x86_64 .*found key "X86-64"\n$/,
    );
  });

  it("reports a missing location and a location that is not an absolute http(s) URL, one line each", async () => {
    const file = brokenStream("locations.json", (s) => {
      delete isoDisk(s).location;
      s.architectures.x86_64.artifacts.qemu.formats["qcow2.xz"].disk.location = "fedora-coreos-qemu.qcow2.xz";
    });
    const run = await runBootstream(["validate", file]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      `${file}: ${ISO}/location: expected a string, found nothing (the field is missing)`,
      `${file}: /architectures/x86_64/artifacts/qemu/formats/qcow2.xz/disk/location: expected an absolute https:// or http:// URL of letters, digits and . _ ~ : / % + @ = ? - only (no whitespace or shell metacharacters), found "fedora-coreos-qemu.qcow2.xz"`,
    ]);
  });

  it("reports a last-modified that is not RFC 3339", async () => {
    const file = brokenStream("date.json", (s) => {
      s.metadata["last-modified"] = "2026-07-21 14:07:12";
    });
    const run = await runBootstream(["validate", file]);
    assert.equal(
      run.stdout,
      `${file}: /metadata/last-modified: expected an RFC 3339 timestamp of a real instant like 2024-05-31T14:21:46Z (no leap second, no impossible date), found "2026-07-21 14:07:12"\n`,
    );
  });

  it("gives the same findings as data with --json", async () => {
    const file = brokenStream("json.json", (s) => {
      isoDisk(s).sha256 = "x";
    });
    const run = await runBootstream(["validate", "--json", file, fixturePath(STABLE)]);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), [
      {
        source: file,
        kind: "stream",
        valid: false,
        issues: [
          {
            pointer: `${ISO}/sha256`,
            message: 'expected a sha256 digest of 64 lowercase hex characters, found "x"',
          },
        ],
      },
      { source: fixturePath(STABLE), kind: "stream", valid: true, issues: [] },
    ]);
  });

  it("reports unknown fields only with --strict", async () => {
    const file = brokenStream("unknown.json", (s) => {
      s.architectures.x86_64["future-field"] = { a: 1 };
    });
    assert.equal((await runBootstream(["validate", file])).code, 0);
    const strict = await runBootstream(["validate", "--strict", file]);
    assert.equal(strict.code, 1);
    assert.equal(
      strict.stdout,
      `${file}: /architectures/x86_64/future-field: expected only known fields, found unknown field "future-field"\n`,
    );
  });

  it("checks a release's URLs against its build and a release index's versions against their URLs", async () => {
    const release = fixtureJson<Json>("smg-fcos-release.json");
    const iso = release.architectures.x86_64.media.metal.artifacts.iso.disk;
    iso.signature = `${iso.location}.asc`;
    const qemu = release.architectures.x86_64.media.qemu.artifacts["qcow2.xz"].disk;
    qemu.location =
      "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/33.20201117.3.2/x86_64/q.qcow2.xz";
    qemu.signature = `${qemu.location}.sig`;
    const rel = join(dir, "release.json");
    writeFileSync(rel, JSON.stringify(release));
    const run = await runBootstream(["validate", rel]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      `${rel}: /architectures/x86_64/media/metal/artifacts/iso/disk/signature: expected the location followed by .sig, found "${iso.signature}"`,
      `${rel}: /architectures/x86_64/media/qemu/artifacts/qcow2.xz/disk/location: expected a URL under the build's directory (…/33.20201201.3.0/…), found "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/33.20201117.3.2/x86_64/q.qcow2.xz"`,
    ]);
    const index = fixtureJson<Json>("smg-fcos-releases.json");
    index.releases.push({ ...index.releases[0] });
    const idx = join(dir, "releases.json");
    writeFileSync(idx, JSON.stringify(index));
    const dup = await runBootstream(["validate", idx]);
    assert.equal(dup.code, 1);
    assert.match(
      dup.stdout,
      /\/releases\/\d+\/version: expected each version once, found 31\.20200108\.3\.0 again \(first at \/releases\/0\)/,
    );
  });

  it("validates with --kind instead of detection", async () => {
    const run = await runBootstream(["validate", "--kind", "release", fixturePath(STABLE)]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /: \/release: expected a string, found nothing/);
  });

  it("reads standard input with -", async () => {
    const run = await runBootstream(["validate", "-"], { stdin: fixtureText(STABLE) });
    assert.equal(run.code, 0);
    assert.equal(run.stderr, "1 document: 1 valid, 0 invalid\n");
  });

  it("fetches http URLs and bare stream names from a stream base URL", async () => {
    const byUrl = await runBootstream(["validate", `${server.url}/streams/stable.json`]);
    assert.equal(byUrl.code, 0, byUrl.stderr);
    const byName = await runBootstream(["validate", "--stream-base-url", `${server.url}/streams`, "stable"]);
    assert.equal(byName.code, 0, byName.stderr);
    const byEnv = await runBootstream(["validate", "stable"], {
      env: { BOOTSTREAM_STREAM_BASE_URL: `${server.url}/streams/` },
    });
    assert.equal(byEnv.code, 0, byEnv.stderr);
  });

  it("exits 2 when any source is unreadable, naming it", async () => {
    const run = await runBootstream([
      "validate",
      fixturePath(STABLE),
      join(dir, "missing.json"),
      `${server.url}/nope.json`,
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /cannot read .*missing\.json: no such file/);
    assert.match(run.stderr, /cannot fetch http:\/\/127\.0\.0\.1:\d+\/nope\.json: HTTP 404/);
    assert.match(run.stderr, /3 documents: 1 valid, 0 invalid, 2 unreadable/);
  });

  it("exits 1 when one of many files is invalid", async () => {
    const bad = brokenStream("one-bad.json", (s) => {
      delete s.stream;
    });
    const run = await runBootstream([
      "validate",
      fixturePath(STABLE),
      bad,
      fixturePath("rhcos-installer-stream.json"),
    ]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, `${bad}: /stream: expected a string, found nothing (the field is missing)\n`);
  });
});

describe("bootstream validate on hostile input (real process: one line, no stack trace, no hang)", () => {
  const cases: [string, string | Buffer, RegExp, number][] = [
    [
      "truncated JSON",
      fixtureText(STABLE).slice(0, 5000),
      /expected .*found the end of the document \(truncated\?\) at line \d+ column \d+/,
      1,
    ],
    [
      "a wrong top-level type",
      "[1, 2, 3]\n",
      /\/: expected a JSON object at the top level, found an array of 3/,
      1,
    ],
    ["an empty file", "", /expected a JSON value, found an empty document at line 1 column 1/, 1],
    [
      "deeply nested input",
      `${"[".repeat(200_000)}${"]".repeat(200_000)}`,
      /expected at most 256 levels of nesting, found deeper input/,
      1,
    ],
    [
      "non-UTF-8 bytes",
      Buffer.concat([Buffer.from('{"stream": "st'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      /expected UTF-8 text, found an invalid byte 0xff at byte offset 14/,
      1,
    ],
    [
      "a duplicate key",
      '{"stream": "a", "stream": "b"}',
      /\/stream: expected unique keys, found key "stream" twice at line 1 column 17/,
      1,
    ],
    [
      "a string with a raw control character",
      '{"stream": "a\u0001"}',
      /expected a string without raw control characters, found U\+0001/,
      1,
    ],
  ];
  for (const [what, content, pattern, code] of cases) {
    it(`handles ${what}`, async () => {
      const file = write(`hostile-${what.replaceAll(" ", "-")}.json`, content);
      const run = await spawnBootstream(["validate", file], { timeoutMs: 20_000 });
      assert.equal(run.code, code);
      const lines = (run.stdout + run.stderr).trimEnd().split("\n");
      assert.equal(lines.length, 2, `one finding line plus the summary: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout, pattern);
      assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("refuses a 100 MB file quickly without reading it into memory", async () => {
    const file = join(dir, "huge.json");
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const parts = Array.from({ length: 100 }, () => chunk);
    writeFileSync(file, Buffer.concat([Buffer.from("{"), ...parts, Buffer.from("}")]));
    const started = Date.now();
    const run = await spawnBootstream(["validate", file], { timeoutMs: 20_000 });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /huge\.json is larger than 32 MiB, the limit for a metadata document/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.ok(Date.now() - started < 15_000);
  });

  it("refuses 100 MB on standard input too", async () => {
    const run = await spawnBootstream(["validate", "-"], {
      stdin: Buffer.alloc(100 * 1024 * 1024, 0x20),
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /standard input is larger than 32 MiB/);
  });
});
