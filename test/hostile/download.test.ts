/**
 * `bootstream download` against a hostile artifact server and hostile streams: names that
 * try to leave -C, links planted where the output goes, peers that stall, 206s that lie,
 * decoders fed truncated data, a 1 KB stream that inflates to hundreds of MB. Each attack
 * runs the real executable against a real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import * as openpgp from "openpgp";
import { tempDir } from "../helpers/fixtures.ts";
import {
  type ArtifactServer,
  type Behaviour,
  chunked,
  honest,
  jsonError,
  overrun,
  redirect,
  runHostile,
  silent,
  stallAfter,
  startArtifactServer,
  wrongStart,
} from "./artifact-server.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let server: ArtifactServer;
let keyFile: string;
let privateKey: openpgp.PrivateKey;
const body = randomBytes(300_000);
const raw = Buffer.concat([randomBytes(200_000), Buffer.alloc(400_000, 7)]);
let xz: Buffer;
let zst: Buffer;
const gz = gzipSync(raw);

before(async () => {
  server = await startArtifactServer();
  xz = execFileSync("xz", ["-c", "-6"], { input: raw });
  zst = execFileSync("zstd", ["-c", "-q"], { input: raw });
  const key = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "release" }],
    format: "object",
  });
  privateKey = key.privateKey;
  keyFile = join(tempDir(), "release.asc");
  writeFileSync(keyFile, key.publicKey.armor());
});
after(() => server.close());

let counter = 0;
/** A fresh path on the server, serving `behaviour`. */
function serve(name: string, behaviour: Behaviour): string {
  const path = `/a${++counter}/${name}`;
  server.route(path, behaviour);
  return `${server.url}${path}`;
}

async function signature(data: Buffer): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  return Buffer.from(
    (await openpgp.sign({
      message,
      signingKeys: privateKey,
      detached: true,
      format: "binary",
    })) as Uint8Array,
  );
}

/** A stream file with one metal artifact of `format` (kind disk) described by `artifact`. */
function streamWith(format: string, artifact: Record<string, unknown>): string {
  const stream = {
    stream: "hostile",
    metadata: { "last-modified": "2026-01-01T00:00:00Z" },
    architectures: {
      x86_64: {
        artifacts: { metal: { release: "1.0", formats: { [format]: { disk: artifact } } } },
        images: {},
      },
    },
  };
  const path = join(tempDir("bootstream-hostile-stream-"), "hostile.json");
  writeFileSync(path, `${JSON.stringify(stream, null, 4)}\n`);
  return path;
}

/** `download -s STREAM -a x86_64 -p metal -f FORMAT -C DIR --insecure` plus `extra`. */
function download(stream: string, format: string, dir: string, extra: string[] = [], env = {}) {
  return runHostile(
    [
      "download",
      "-s",
      stream,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      format,
      "-C",
      dir,
      "--retries",
      "1",
      "--retry-delay",
      "10",
      "--json",
      ...(extra.includes("--key") ? [] : ["--insecure"]),
      ...extra,
    ],
    { env, limitMs: 20_000 },
  );
}

// --- Confinement ----------------------------------------------------------------------

for (const name of ["...xz", "..xz", ".xz"]) {
  test(`attack: artifact named ${JSON.stringify(name)} downloaded with --decompress -> refused, <dir>.part beside -C untouched`, async () => {
    const parent = tempDir();
    const dir = join(parent, "out");
    mkdirSync(dir);
    writeFileSync(`${dir}.part`, "precious");
    writeFileSync(join(parent, "out.xz"), "precious too");
    const url = serve(name, honest(xz));
    const stream = streamWith("raw.xz", { location: url, sha256: sha(xz) });
    const run = await download(stream, "raw.xz", dir, ["--decompress"]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
    assert.equal(run.stderr.trimEnd().split("\n").length, 1, "one line");
    assert.equal(readFileSync(`${dir}.part`, "utf8"), "precious");
    assert.deepEqual(readdirSync(parent).sort(), ["out", "out.part", "out.xz"]);
    assert.deepEqual(readdirSync(dir), []);
  });
}

test("attack: artifact name with a newline (%0A) -> refused, stdout stays one path per line", async () => {
  const dir = tempDir();
  const url = serve("evil%0Aname.iso", honest(body));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.match(jsonError(run).message, /control character/);
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: -u URL whose name has a control character -> usage error, nothing written", async () => {
  const dir = tempDir();
  const url = serve("bell%07.iso", honest(body));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", dir, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "USAGE");
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: NAME.part is a symlink to a file outside -C -> never written through, download exact", async () => {
  const dir = tempDir();
  const outside = join(tempDir(), "victim");
  writeFileSync(outside, "precious".repeat(125));
  const url = serve("image.iso", honest(body));
  symlinkSync(outside, join(dir, "image.iso.part"));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(readFileSync(outside, "utf8"), "precious".repeat(125), "the link target is untouched");
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
  assert.deepEqual(readdirSync(dir), ["image.iso"]);
});

test("attack: NAME.part is a hard link to a file outside -C -> never appended to, download exact", async () => {
  const dir = tempDir();
  const outside = join(dir, "..", `victim-${process.pid}-${Date.now()}`);
  writeFileSync(outside, body.subarray(0, 1000));
  const url = serve("image.iso", honest(body));
  linkSync(outside, join(dir, "image.iso.part"));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(statSync(outside).size, 1000, "the other link's file is untouched");
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
  rmSync(outside);
});

test("attack: NAME is a symlink to an outside file that verifies -> replaced by a real file, not trusted", async () => {
  const dir = tempDir();
  const outside = join(tempDir(), "image.iso");
  writeFileSync(outside, body);
  const url = serve("image.iso", honest(body));
  symlinkSync(outside, join(dir, "image.iso"));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(lstatSync(join(dir, "image.iso")).isSymbolicLink(), false);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
  assert.ok(readFileSync(outside).equals(body), "the link target is untouched");
});

test("attack: NAME is a symlink to /dev/zero -> not read forever, replaced by the download", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  symlinkSync("/dev/zero", join(dir, "image.iso"));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
});

// --- Deadlines and memory --------------------------------------------------------------

test("attack: artifact server accepts the connection and never answers -> TIMEOUT naming the host", async () => {
  const url = serve("image.iso", silent);
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", tempDir(), [], {
    BOOTSTREAM_TIMEOUT: "1",
  });
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TIMEOUT");
  assert.match(jsonError(run).message, /127\.0\.0\.1:\d+ did not answer within 1 s/);
  assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
});

test("attack: artifact server sends headers and some bytes, then stalls -> TIMEOUT naming the host", async () => {
  const dir = tempDir();
  const url = serve("image.iso", stallAfter(body, 50_000));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir, [], {
    BOOTSTREAM_TIMEOUT: "1",
  });
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TIMEOUT");
  assert.match(jsonError(run).message, /127\.0\.0\.1:\d+ sent nothing for 1 s/);
});

test("attack: signature server never answers -> TIMEOUT naming the host", async () => {
  const url = serve("image.iso", honest(body));
  const stream = streamWith("iso", {
    location: url,
    signature: serve("image.iso.sig", silent),
    sha256: sha(body),
  });
  const run = await download(stream, "iso", tempDir(), ["--key", keyFile], { BOOTSTREAM_TIMEOUT: "1" });
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TIMEOUT");
  assert.match(jsonError(run).message, /127\.0\.0\.1:\d+/);
});

test("attack: zstd stream of 40 KB inflating to 400 MB through the built-in decoder -> peak RSS under 200 MB", async () => {
  const dir = tempDir();
  const compressed = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn("zstd", ["-c", "-q"], { stdio: ["pipe", "pipe", "inherit"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.on("error", reject);
    child.on("close", () => resolve(Buffer.concat(out)));
    const line = Buffer.alloc(1 << 20);
    for (let i = 0; i < line.length; i++) line[i] = 97 + (i % 23);
    let left = 400;
    const pump = () => {
      while (left > 0) {
        left--;
        if (!child.stdin.write(line)) return void child.stdin.once("drain", pump);
      }
      child.stdin.end();
    };
    pump();
  });
  const url = serve("bomb.raw.zst", honest(compressed));
  const run = await runHostile(["download", "-u", url, "--insecure", "--decompress", "-C", dir], {
    env: { BOOTSTREAM_BUILTIN_DECOMPRESSORS: "1" },
    limitMs: 60_000,
  });
  try {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(statSync(join(dir, "bomb.raw")).size, 400 << 20);
    assert.ok(run.peakRssKb > 0 && run.peakRssKb < 200 * 1024, `peak RSS ${run.peakRssKb} KiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- Exactly what was asked for ------------------------------------------------------

test("attack: 206 whose Content-Range starts elsewhere than asked -> rejected, the file is exact", async () => {
  const dir = tempDir();
  const url = serve("image.iso", wrongStart(body));
  writeFileSync(join(dir, "image.iso.part"), body.subarray(0, 100_000));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
});

test("attack: 206 that sends more than its Content-Range, no digest given -> rejected, the file is exact", async () => {
  const dir = tempDir();
  const url = serve("image.iso", overrun(body, randomBytes(5000)));
  writeFileSync(join(dir, "image.iso.part"), body.subarray(0, 100_000));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", dir, "--retry-delay", "10"]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body), "no extra bytes");
  assert.doesNotMatch(run.stderr, /sha256 ok/);
});

test("attack: NAME.part already complete (server answers 416) -> verified and finished", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  writeFileSync(join(dir, "image.iso.part"), body);
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
  assert.deepEqual(readdirSync(dir), ["image.iso"]);
});

test("attack: NAME.part longer than the artifact -> discarded and restarted, file exact", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  writeFileSync(join(dir, "image.iso.part"), Buffer.concat([body, randomBytes(100)]));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
});

test("attack: NAME.part of full length but wrong bytes -> discarded and restarted, file exact", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  writeFileSync(join(dir, "image.iso.part"), randomBytes(body.length));
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", dir);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(readFileSync(join(dir, "image.iso")).equals(body));
});

for (const [label, format, data, env] of [
  ["xz with the system xz", "raw.xz", () => xz, {}],
  ["zstd with the system zstd", "raw.zst", () => zst, {}],
  ["xz with the built-in decoder", "raw.xz", () => xz, { BOOTSTREAM_BUILTIN_DECOMPRESSORS: "1" }],
  ["zstd with the built-in decoder", "raw.zst", () => zst, { BOOTSTREAM_BUILTIN_DECOMPRESSORS: "1" }],
  ["gzip", "raw.gz", () => gz, {}],
] as const) {
  test(`attack: truncated ${label} whose compressed sha256 matches -> exit 3, no output left`, async () => {
    const dir = tempDir();
    const truncated = data().subarray(0, Math.floor(data().length / 2));
    const suffix = format.slice("raw".length);
    const url = serve(`image${suffix}`, honest(truncated));
    const stream = streamWith(format, { location: url, sha256: sha(truncated) });
    const run = await download(stream, format, dir, ["--decompress"], env);
    assert.equal(run.code, 3, run.stderr);
    assert.equal(jsonError(run).code, "CHECKSUM_MISMATCH");
    assert.deepEqual(readdirSync(dir), []);
  });
}

test("attack: -u URL --insecure with no digest -> says not verified, never 'sha256 ok'", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /sha256 ok/);
  assert.match(run.stderr, /not verified: no digest/);
});

test("attack: signature missing (404) -> exit 4 SIGNATURE_INVALID, nothing written", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  const run = await runHostile(["download", "-u", url, "--key", keyFile, "-C", dir, "--json"]);
  assert.equal(run.code, 4, run.stderr);
  assert.equal(jsonError(run).code, "SIGNATURE_INVALID");
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: signature body of 2 MiB without Content-Length -> TOO_LARGE, nothing written", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  server.route(`${new URL(url).pathname}.sig`, chunked(2 << 20));
  const run = await runHostile(["download", "-u", url, "--key", keyFile, "-C", dir, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "TOO_LARGE");
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: signed by the right key but for other bytes -> exit 4, nothing written", async () => {
  const dir = tempDir();
  const url = serve("image.iso", honest(body));
  const sig = await signature(randomBytes(100));
  server.route(`${new URL(url).pathname}.sig`, honest(sig));
  const run = await runHostile(["download", "-u", url, "--key", keyFile, "-C", dir, "--json"]);
  assert.equal(run.code, 4, run.stderr);
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: redirect to file:///etc/passwd -> refused, nothing written", async () => {
  const dir = tempDir();
  const url = serve("image.iso", redirect("file:///etc/passwd"));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", dir, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.doesNotMatch(run.stdout + run.stderr, /root:x:0:0/);
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: redirect loop -> one-line error after a bounded number of hops", async () => {
  const dir = tempDir();
  const path = `/loop${++counter}/image.iso`;
  server.route(path, redirect(path));
  const run = await runHostile(["download", "-u", `${server.url}${path}`, "--insecure", "-C", dir, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(jsonError(run).message, /redirect/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
});

test("attack: redirect with an unparsable Location -> one-line error, no crash", async () => {
  const dir = tempDir();
  const url = serve("image.iso", redirect("http://[::1"));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", dir, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "IO");
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
});

// --- Clear errors ---------------------------------------------------------------------

test("attack: -C names an existing regular file -> USAGE naming it", async () => {
  const file = join(tempDir(), "not-a-dir");
  writeFileSync(file, "x");
  const url = serve("image.iso", honest(body));
  const run = await runHostile(["download", "-u", url, "--insecure", "-C", file, "--json"]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "USAGE");
  assert.ok(jsonError(run).message.includes(file), jsonError(run).message);
  assert.equal(readFileSync(file, "utf8"), "x");
});

for (const value of ["not a url", "ftp://127.0.0.1/image.iso", "file:///etc/passwd"]) {
  test(`attack: -u ${JSON.stringify(value)} -> USAGE naming the value`, async () => {
    const run = await runHostile(["download", "-u", value, "--insecure", "-C", tempDir(), "--json"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(jsonError(run).code, "USAGE");
    assert.ok(jsonError(run).message.includes(value), jsonError(run).message);
  });
}

test("attack: --sha256 that is not a digest -> USAGE naming it, nothing fetched", async () => {
  const url = serve("image.iso", honest(body));
  const run = await runHostile([
    "download",
    "-u",
    url,
    "--sha256",
    "abc;rm",
    "--insecure",
    "-C",
    tempDir(),
    "--json",
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(jsonError(run).code, "USAGE");
  assert.match(jsonError(run).message, /--sha256 "abc;rm"/);
  assert.equal(server.requests.filter((r) => r.path === new URL(url).pathname).length, 0);
});

for (const badEscape of ["%E0%A4%A", "%zz"]) {
  test(`attack: -u URL with the malformed escape ${badEscape} -> one-line USAGE naming the URL`, async () => {
    const url = `${server.url}/x/image${badEscape}.iso`;
    const run = await runHostile(["download", "-u", url, "--insecure", "-C", tempDir(), "--json"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(jsonError(run).code, "USAGE");
    assert.ok(jsonError(run).message.includes(url), jsonError(run).message);
    assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  });
}

test("attack: stream artifact URL with a malformed escape -> INVALID_DOCUMENT naming the URL", async () => {
  const url = `${server.url}/x/image%E0%A4%A.iso`;
  const run = await download(streamWith("iso", { location: url, sha256: sha(body) }), "iso", tempDir());
  assert.equal(run.code, 1, run.stderr);
  assert.equal(jsonError(run).code, "INVALID_DOCUMENT");
  assert.ok(jsonError(run).message.includes(url), jsonError(run).message);
});
