/**
 * `bootstream mirror` fed hostile streams and hostile artifact servers: a stream name or
 * URL paths that try to leave --to, artifacts that would share a file (or take one of the
 * mirror's own), a state file or signature that is a planted link, peers that stall.
 * Each attack runs the real executable against a real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { tempDir } from "../helpers/fixtures.ts";
import {
  type ArtifactServer,
  chunked,
  honest,
  jsonError,
  runHostile,
  silent,
  startArtifactServer,
} from "./artifact-server.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const BASE = "https://mirror.internal/coreos/";

let server: ArtifactServer;
let other: ArtifactServer;
const one = randomBytes(100_000);
const two = randomBytes(120_000);

before(async () => {
  server = await startArtifactServer();
  other = await startArtifactServer();
});
after(async () => {
  await server.close();
  await other.close();
});

type Artifact = { location: string; signature?: string; sha256: string };

/** A stream file whose metal platform has one format per entry, each with a disk artifact. */
function streamFile(formats: Record<string, Artifact>, name = "hostile"): string {
  const stream = {
    stream: name,
    metadata: { "last-modified": "2026-01-01T00:00:00Z" },
    architectures: {
      x86_64: {
        artifacts: {
          metal: {
            release: "1.0",
            formats: Object.fromEntries(Object.entries(formats).map(([f, a]) => [f, { disk: a }])),
          },
        },
        images: {},
      },
    },
  };
  const path = join(tempDir("bootstream-hostile-mirror-stream-"), "stream.json");
  writeFileSync(path, `${JSON.stringify(stream, null, 4)}\n`);
  return path;
}

let counter = 0;
/** A fresh directory on `on` holding `files` (name -> body); returns its URL prefix. */
function publish(files: Record<string, Buffer>, on = server): string {
  const prefix = `/m${++counter}`;
  for (const [name, body] of Object.entries(files)) on.route(`${prefix}/${name}`, honest(body));
  return `${on.url}${prefix}`;
}

function mirror(stream: string, to: string, extra: string[] = [], env: Record<string, string> = {}) {
  return runHostile(
    ["mirror", stream, "--to", to, "--base-url", BASE, "--retries", "1", "--json", ...extra],
    { env, limitMs: 20_000 },
  );
}

/** Every path under `root`, relative, sorted. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out.push(relative(root, path));
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out.sort();
}

function requestsTo(s: ArtifactServer, prefix: string): number {
  return s.requests.filter((r) => r.path.startsWith(new URL(prefix).pathname)).length;
}

// --- Confinement ----------------------------------------------------------------------

for (const extra of [["--metadata-only"], []]) {
  test(`attack: stream named "../../x" mirrored ${extra.length ? "with --metadata-only " : ""}-> nothing created outside --to`, async () => {
    const parent = tempDir();
    const to = join(parent, "a", "b", "to");
    mkdirSync(to, { recursive: true });
    const url = publish({ "x.iso": one });
    const stream = streamFile({ iso: { location: `${url}/x.iso`, sha256: sha(one) } }, "../../x");
    const run = await mirror(stream, to, extra);
    assert.notEqual(run.code, 0, run.stderr);
    assert.deepEqual(tree(parent), ["a", "a/b", "a/b/to"], "nothing anywhere");
  });
}

test("attack: two artifacts with the same URL path on two hosts -> INVALID_DOCUMENT naming both, nothing fetched", async () => {
  const a = publish({ "x.iso": one });
  const b = `${other.url}${new URL(a).pathname}`;
  other.route(`${new URL(a).pathname}/x.iso`, honest(two));
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, sha256: sha(one) },
    "iso2.iso": { location: `${b}/x.iso`, sha256: sha(two) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 1, run.stderr);
  const error = jsonError(run);
  assert.equal(error.code, "INVALID_DOCUMENT");
  assert.match(error.message, /\/formats\/iso\/disk\/location .* and .*\/formats\/iso2\.iso\/disk\/location/);
  assert.equal(requestsTo(server, a) + requestsTo(other, b), 0, "nothing fetched");
  assert.deepEqual(tree(to), []);
});

for (const [label, spell] of [
  ["an escaped letter (%78 for x)", "%78.iso"],
  ["a doubled slash", "/x.iso"],
  ["other letter case", "X.iso"],
] as const) {
  test(`attack: two URLs that map to one local file through ${label} -> refused before fetching`, async () => {
    const a = publish({ "x.iso": one });
    server.route(`${new URL(a).pathname}/${spell}`, honest(two));
    const to = tempDir();
    const stream = streamFile({
      iso: { location: `${a}/x.iso`, sha256: sha(one) },
      other: { location: `${a}/${spell}`, sha256: sha(two) },
    });
    const run = await mirror(stream, to);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
    assert.equal(requestsTo(server, a), 0, "nothing fetched");
  });
}

for (const [label, path] of [
  ["the mirrored stream's own file (streams/hostile.json)", "/streams/hostile.json"],
  ["the mirror's state file", "/.bootstream-mirror.json"],
] as const) {
  test(`attack: artifact at ${label} -> refused, the mirror's file is not overwritten`, async () => {
    server.route(path, honest(one));
    const to = tempDir();
    const stream = streamFile({ iso: { location: `${server.url}${path}`, sha256: sha(one) } });
    const run = await mirror(stream, to);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
    assert.deepEqual(tree(to), []);
  });
}

test("attack: artifact at another artifact's .part -> refused before fetching", async () => {
  const a = publish({ "x.iso": one, "x.iso.part": two });
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, sha256: sha(one) },
    part: { location: `${a}/x.iso.part`, sha256: sha(two) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.equal(requestsTo(server, a), 0);
});

test("attack: signature URL that is another artifact's location -> refused before fetching", async () => {
  const a = publish({ "x.iso": one, "y.iso": two });
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, signature: `${a}/y.iso`, sha256: sha(one) },
    other: { location: `${a}/y.iso`, sha256: sha(two) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.match(jsonError(run).message, /\/signature .* and .*\/location|\/location .* and .*\/signature/);
  assert.equal(requestsTo(server, a), 0);
});

test("attack: an artifact file where another needs a directory (a/x.iso and a/x.iso/y) -> refused", async () => {
  const a = publish({ "x.iso": one, "x.iso/y": two });
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, sha256: sha(one) },
    nested: { location: `${a}/x.iso/y`, sha256: sha(two) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.equal(requestsTo(server, a), 0);
});

test("attack: URL path segment with a newline -> refused, one line on stderr", async () => {
  const a = publish({ "x%0Ay.iso": one });
  const to = tempDir();
  const run = await mirror(streamFile({ iso: { location: `${a}/x%0Ay.iso`, sha256: sha(one) } }), to);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.match(jsonError(run).message, /control character/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  assert.deepEqual(tree(to), []);
});

test("attack: URL path with a malformed percent-escape -> one-line INVALID_DOCUMENT naming the URL", async () => {
  const url = `${server.url}/m/image%E0%A4%A.iso`;
  const to = tempDir();
  const run = await mirror(streamFile({ iso: { location: url, sha256: sha(one) } }), to);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.ok(jsonError(run).message.includes(url), jsonError(run).message);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
});

test("attack: a directory in --to is a symlink leading out -> nothing written outside", async () => {
  const a = publish({ "x.iso": one });
  const to = tempDir();
  const outside = tempDir();
  symlinkSync(outside, join(to, new URL(a).pathname.slice(1)));
  const run = await mirror(streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } }), to);
  assert.notEqual(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(outside), []);
});

test("attack: signature path is a planted symlink to a file outside --to -> replaced, target untouched", async () => {
  const a = publish({ "x.iso": one, "x.iso.sig": Buffer.from("the real signature") });
  const to = tempDir();
  const outside = join(tempDir(), "secret");
  writeFileSync(outside, "secret");
  mkdirSync(join(to, new URL(a).pathname.slice(1)), { recursive: true });
  const sigPath = join(to, new URL(a).pathname.slice(1), "x.iso.sig");
  symlinkSync(outside, sigPath);
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, signature: `${a}/x.iso.sig`, sha256: sha(one) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(lstatSync(sigPath).isSymbolicLink(), false, "the mirror serves no link out");
  assert.equal(readFileSync(sigPath, "utf8"), "the real signature");
  assert.equal(readFileSync(outside, "utf8"), "secret");
});

// --- The state file -------------------------------------------------------------------

test("attack: corrupt state file -> ignored with a warning, every file verified", async () => {
  const a = publish({ "x.iso": one });
  const to = tempDir();
  writeFileSync(join(to, ".bootstream-mirror.json"), '{"m": {"sha256": 1}');
  const run = await mirror(streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } }), to);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /warning: ignoring .*\.bootstream-mirror\.json/);
  assert.ok(readFileSync(join(to, new URL(a).pathname.slice(1), "x.iso")).equals(one));
});

for (const [state, why] of [
  ['{"m": {"sha256": "zz", "size": 1, "mtimeMs": 1}}', 'its entry "m" is malformed'],
  [`{"m": {"sha256": "${"a".repeat(64)}", "size": -1, "mtimeMs": 1}}`, 'its entry "m" is malformed'],
  [`[{"sha256": "${"a".repeat(64)}", "size": 1, "mtimeMs": 1}]`, "not a JSON object"],
  ['"state"', "not a JSON object"],
] as const) {
  test(`attack: state file ${state.slice(0, 40)} -> checked by its schema, ignored: ${why}`, async () => {
    const a = publish({ "x.iso": one });
    const to = tempDir();
    writeFileSync(join(to, ".bootstream-mirror.json"), state);
    const run = await mirror(streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } }), to);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      run.stderr.includes(`.bootstream-mirror.json: ${why}; every file is verified again`),
      run.stderr,
    );
  });
}

test("attack: state file is a symlink to a FIFO -> never opened (no hang), ignored with a warning", async () => {
  const a = publish({ "x.iso": one });
  const to = tempDir();
  const fifo = join(tempDir(), "fifo");
  execFileSync("mkfifo", [fifo]);
  symlinkSync(fifo, join(to, ".bootstream-mirror.json"));
  const run = await mirror(streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } }), to);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /warning: ignoring/);
  assert.equal(lstatSync(join(to, ".bootstream-mirror.json")).isFile(), true, "replaced by a real file");
});

test("attack: state file vouches for a file whose bytes were replaced (same size, new mtime) -> verified again", async () => {
  const a = publish({ "x.iso": one });
  const to = tempDir();
  const stream = streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } });
  assert.equal((await mirror(stream, to)).code, 0);
  const file = join(to, new URL(a).pathname.slice(1), "x.iso");
  writeFileSync(file, randomBytes(one.length));
  const run = await mirror(stream, to);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(file).equals(one), "the tampered file was fetched again");
});

// --- Signatures and deadlines -----------------------------------------------------------

test("attack: signature missing at the origin (404) -> exit 4 SIGNATURE_INVALID", async () => {
  const a = publish({ "x.iso": one });
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, signature: `${a}/x.iso.sig`, sha256: sha(one) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 4, run.stderr);
  assert.equal(jsonError(run).code, "SIGNATURE_INVALID");
});

test("attack: signature of 2 MiB without Content-Length -> TOO_LARGE", async () => {
  const a = publish({ "x.iso": one });
  server.route(`${new URL(a).pathname}/x.iso.sig`, chunked(2 << 20));
  const to = tempDir();
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, signature: `${a}/x.iso.sig`, sha256: sha(one) },
  });
  const run = await mirror(stream, to);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TOO_LARGE");
  assert.equal(existsSync(join(to, new URL(a).pathname.slice(1), "x.iso.sig")), false);
});

test("attack: signature server never answers -> TIMEOUT naming the host", async () => {
  const a = publish({ "x.iso": one });
  server.route(`${new URL(a).pathname}/x.iso.sig`, silent);
  const stream = streamFile({
    iso: { location: `${a}/x.iso`, signature: `${a}/x.iso.sig`, sha256: sha(one) },
  });
  const run = await mirror(stream, tempDir(), [], { BOOTSTREAM_TIMEOUT: "1" });
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TIMEOUT");
  assert.match(jsonError(run).message, /127\.0\.0\.1:\d+/);
});

test("attack: artifact server never answers -> TIMEOUT naming the host", async () => {
  const path = `/m${++counter}/x.iso`;
  server.route(path, silent);
  const stream = streamFile({ iso: { location: `${server.url}${path}`, sha256: sha(one) } });
  const run = await mirror(stream, tempDir(), [], { BOOTSTREAM_TIMEOUT: "1" });
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TIMEOUT");
  assert.match(jsonError(run).message, /127\.0\.0\.1:\d+ did not answer within 1 s/);
});

test("attack: --to names an existing regular file -> USAGE naming it", async () => {
  const file = join(tempDir(), "not-a-dir");
  writeFileSync(file, "x");
  const a = publish({ "x.iso": one });
  const run = await mirror(streamFile({ iso: { location: `${a}/x.iso`, sha256: sha(one) } }), file);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "USAGE");
  assert.ok(jsonError(run).message.includes(file));
  assert.equal(readFileSync(file, "utf8"), "x");
});
