/**
 * Clients trust the stream (issue 13): a hostile HTTP server on 127.0.0.1 serves signed
 * streams published by bootstream, and then rollbacks, freezes, tampered bytes, signatures of
 * other copies, stale signatures racing a publish, missing signatures, wrong keys and unfaithful
 * mirror rewrites. Every case runs the real executable and checks the exit code, and that
 * nothing was downloaded or written when the stream was refused.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { BootstreamError, fetchStream } from "../src/client.ts";
import { spawnBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, tempDir } from "./helpers/fixtures.ts";
import { startServer, type TestServer } from "./helpers/http.ts";
import { testKey } from "./helpers/keys.ts";

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

interface Reply {
  body: Buffer;
  headers?: Record<string, string>;
}

/** What the hostile server answers, per path; tests rewrite it freely. */
let routes = new Map<string, Reply>();
const requested: string[] = [];
let server: TestServer;
let dir: string;
let pub: string;
let otherPub: string;
let fingerprint: string;
let otherFingerprint: string;
const ISO = Buffer.from("not really an ISO, but hashed like one\n".repeat(1000));
/** Under the release's name: publish's lint wants artifact URLs to name their release. */
const ISO_PATH = "/artifacts/44.20260707.3.1/fcos.iso";

/** The store files publish wrote for v1 (older) and v2 (newer). */
const files: Record<string, Buffer> = {};
let v1: Buffer;
let v2: Buffer;
const V1_ID = "20260101";
const V2_ID = "20260201";

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  requested.push(path);
  const reply = routes.get(path);
  if (reply === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-length": reply.body.length, ...reply.headers }).end(reply.body);
}

/** A static mirror of the store: pointer, its .asc, history, pinned copies and their .asc. */
function staticMirror(pointer: Buffer, pointerAsc: Buffer): Map<string, Reply> {
  const map = new Map<string, Reply>();
  map.set("/streams/stable.json", { body: pointer });
  map.set("/streams/stable.json.asc", { body: pointerAsc });
  for (const name of [
    "history.json",
    `${V1_ID}.json`,
    `${V1_ID}.json.asc`,
    `${V2_ID}.json`,
    `${V2_ID}.json.asc`,
  ])
    map.set(`/streams/stable/${name}`, { body: files[`streams/stable/${name}`] as Buffer });
  map.set(ISO_PATH, { body: ISO });
  return map;
}

const asc = (id: string) => files[`streams/stable/${id}.json.asc`] as Buffer;

function streamVersion(lastModified: string, base: string): string {
  const stream = fixtureJson<{
    metadata: Record<string, string>;
    architectures: Record<string, { artifacts: Record<string, { formats: Record<string, unknown> }> }>;
  }>("fcos-stable-stream.json");
  stream.metadata["last-modified"] = lastModified;
  const metal = stream.architectures.x86_64?.artifacts.metal as { formats: Record<string, unknown> };
  metal.formats.iso = {
    disk: { location: `${base}${ISO_PATH}`, signature: `${base}${ISO_PATH}.sig`, sha256: sha256(ISO) },
  };
  return `${JSON.stringify(stream, null, 4)}\n`;
}

async function run(args: string[], options: { stdin?: Buffer; env?: Record<string, string> } = {}) {
  return spawnBootstream(args, { ...options, timeoutMs: 60_000 });
}

const url = () => `${server.url}/streams/stable.json`;
const keyArgs = (state: string) => ["--stream-key", pub, "--state-dir", state];
/** `query` arguments choosing the metal ISO of x86_64. */
const ISO_QUERY = ["-a", "x86_64", "-p", "metal", "-f", "iso"];

/** download of the metal ISO into a fresh directory; returns the run and what the directory holds. */
async function download(state: string, extra: string[] = []) {
  const out = tempDir("bootstream-trust-out-");
  const before = requested.length;
  const result = await run([
    "download",
    "-s",
    url(),
    ...ISO_QUERY,
    "-C",
    out,
    "--insecure",
    ...keyArgs(state),
    ...extra,
  ]);
  const fetchedArtifact = requested.slice(before).some((p) => p.startsWith("/artifacts/"));
  return { ...result, written: readdirSync(out), fetchedArtifact };
}

function assertRefused(result: Awaited<ReturnType<typeof download>>, exit: number, pattern: RegExp): void {
  assert.equal(result.code, exit, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  assert.deepEqual(result.written, [], "nothing written");
  assert.equal(result.fetchedArtifact, false, "no artifact requested");
}

before(async () => {
  server = await startServer({});
  server.server.removeAllListeners("request");
  server.server.on("request", handler);
  dir = tempDir("bootstream-trust-");
  const [key, other] = await Promise.all([testKey("stream signer"), testKey("someone else")]);
  fingerprint = key.publicKey.getFingerprint().toUpperCase();
  otherFingerprint = other.publicKey.getFingerprint().toUpperCase();
  writeFileSync(join(dir, "sign.asc"), key.privateKey.armor());
  pub = join(dir, "pub.asc");
  writeFileSync(pub, key.publicKey.armor());
  otherPub = join(dir, "other.asc");
  writeFileSync(otherPub, other.publicKey.armor());
  writeFileSync(join(dir, "policy.json"), JSON.stringify({ "https-only": false, "allowed-hosts": [] }));
  const store = join(dir, "store");
  for (const [name, lastModified] of [
    ["v1.json", "2026-01-01T10:00:00Z"],
    ["v2.json", "2026-02-01T10:00:00Z"],
  ] as const) {
    writeFileSync(join(dir, name), streamVersion(lastModified, server.url));
    const published = await run([
      "publish",
      join(dir, name),
      "--store",
      store,
      "--sign-key",
      join(dir, "sign.asc"),
      "--policy",
      join(dir, "policy.json"),
    ]);
    assert.equal(published.code, 0, published.stderr);
  }
  for (const name of readdirSync(join(store, "streams", "stable")))
    files[`streams/stable/${name}`] = readFileSync(join(store, "streams", "stable", name));
  v1 = files[`streams/stable/${V1_ID}.json`] as Buffer;
  v2 = files[`streams/stable/${V2_ID}.json`] as Buffer;
  assert.ok(v1 && v2, `pinned copies ${Object.keys(files)}`);
});

after(() => server.close());

describe("signed streams, verified before acting", () => {
  it("accepts a signed stream from a static mirror and downloads from it (signer printed with -v)", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const result = await download(tempDir(), ["-v"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.written, ["fcos.iso"]);
    assert.match(result.stderr, new RegExp(`good signature from key ${fingerprint}`));
  });

  it("race: a stale pointer .asc beside it, found through history.json's pinned copy", async () => {
    routes = staticMirror(v2, asc(V1_ID)); // the pointer moved; its .asc is the old one
    const result = await download(tempDir(), ["-v"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`/streams/stable/${V2_ID}\\.json\\.asc`));
  });

  it("race: Content-Location names the pinned copy whose .asc verifies (no history needed)", async () => {
    routes = staticMirror(v2, asc(V1_ID));
    routes.delete("/streams/stable/history.json");
    routes.set("/streams/stable.json", {
      body: v2,
      headers: { "content-location": `/streams/stable/${V2_ID}.json` },
    });
    const result = await download(tempDir(), ["-v"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`${V2_ID}\\.json\\.asc`));
  });

  it("ignores a Content-Location on another server", async () => {
    routes = staticMirror(v2, asc(V1_ID));
    routes.delete("/streams/stable/history.json");
    routes.set("/streams/stable.json", {
      body: v2,
      headers: { "content-location": `http://127.0.0.2:9/streams/stable/${V2_ID}.json` },
    });
    assertRefused(await download(tempDir()), 4, /not a URL on the same server/);
  });

  it("refuses tampered bytes (exit 4), and never fetches what they point at", async () => {
    const tampered = Buffer.from(v2.toString("utf8").replace(`${ISO_PATH}"`, '/artifacts/evil.iso"'));
    assert.notDeepEqual(tampered, v2);
    routes = staticMirror(tampered, asc(V2_ID));
    routes.set("/artifacts/evil.iso", { body: ISO });
    const result = await download(tempDir());
    assertRefused(result, 4, /no valid signature by the keys given/);
    assert.match(result.stderr, new RegExp(fingerprint));
  });

  it("refuses a signature of a different copy everywhere it looks", async () => {
    routes = staticMirror(v2, asc(V1_ID));
    routes.set(`/streams/stable/${V2_ID}.json.asc`, { body: asc(V1_ID) });
    routes.set("/streams/stable.json", {
      body: v2,
      headers: { "content-location": `/streams/stable/${V2_ID}.json` },
    });
    assertRefused(await download(tempDir()), 4, /bad signature|signature/i);
  });

  it("refuses a stream with no signature at all", async () => {
    routes = new Map([
      ["/streams/stable.json", { body: v2 }],
      [ISO_PATH, { body: ISO }],
    ]);
    assertRefused(await download(tempDir()), 4, /no valid signature.*not found/);
  });

  it("refuses a stream signed by another key, naming the keys tried", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const result = await run([
      "query",
      url(),
      ...ISO_QUERY,
      "--stream-key",
      otherPub,
      "--state-dir",
      tempDir(),
    ]);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, new RegExp(otherFingerprint));
    assert.equal(result.stdout, "");
  });

  it("refuses an oversized signature file without reading it all", async () => {
    routes = new Map([
      ["/streams/stable.json", { body: v2 }],
      ["/streams/stable.json.asc", { body: Buffer.alloc(3 * 1024 * 1024, 0x41) }],
    ]);
    assertRefused(await download(tempDir()), 4, /larger than 1 MiB/);
  });

  it("writes nothing when oci build or configmap -o refuse the stream", async () => {
    routes = new Map([["/streams/stable.json", { body: v2 }]]);
    const out = tempDir();
    const layout = join(out, "layout");
    const built = await run(["oci", "build", url(), "--layout", layout, ...keyArgs(tempDir())]);
    assert.equal(built.code, 4, built.stderr);
    assert.equal(existsSync(layout), false);
    const yaml = join(out, "cm.yaml");
    const cm = await run(["configmap", url(), "-o", yaml, ...keyArgs(tempDir())]);
    assert.equal(cm.code, 4, cm.stderr);
    assert.equal(existsSync(yaml), false);
  });

  it("local files: FILE.asc beside it, or --stream-signature (also for standard input)", async () => {
    const local = tempDir();
    writeFileSync(join(local, "stable.json"), v2);
    writeFileSync(join(local, "stable.json.asc"), asc(V2_ID));
    const state = tempDir();
    const args = [...ISO_QUERY, ...keyArgs(state)];
    assert.equal((await run(["query", join(local, "stable.json"), ...args])).code, 0);
    writeFileSync(join(local, "old.asc"), asc(V1_ID));
    const wrong = await run([
      "query",
      join(local, "stable.json"),
      ...args,
      "--stream-signature",
      join(local, "old.asc"),
    ]);
    assert.equal(wrong.code, 4, wrong.stderr);
    const stdin = await run(["query", "-", ...args, "--stream-signature", join(local, "stable.json.asc")], {
      stdin: v2,
    });
    assert.equal(stdin.code, 0, stdin.stderr);
    const unsigned = await run(["query", "-", ...args], { stdin: v2 });
    assert.equal(unsigned.code, 4, unsigned.stderr);
    assert.match(unsigned.stderr, /--stream-signature/);
  });

  it("the keyring from BOOTSTREAM_STREAM_KEYRING is used without flags", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const result = await run(["list", url(), "--state-dir", tempDir()], {
      env: { BOOTSTREAM_STREAM_KEYRING: otherPub },
    });
    assert.equal(result.code, 4, result.stderr);
  });
});

describe("every command that reads a stream", () => {
  /** Each command with the stream URL, and where its work would be written. */
  const commands = (out: string): string[][] => [
    ["validate", url()],
    ["list", url()],
    ["query", url(), ...ISO_QUERY],
    ["image", url(), "-a", "x86_64", "-p", "aws", "--region", "us-east-1"],
    ["diff", url(), url()],
    ["lint", join(dir, "v2.json"), "--previous", url(), "--policy", join(dir, "policy.json")],
    [
      "generate",
      "stream",
      "--from",
      url(),
      "--release",
      `x86_64=${fixturePath("smg-fcos-release.json")}`,
      "--stream",
      "stable",
      "-o",
      join(out, "gen.json"),
    ],
    ["configmap", url(), "-o", join(out, "cm.yaml")],
    ["oci", "build", url(), "--layout", join(out, "layout")],
    ["mirror", url(), "--to", join(out, "mirror"), "--base-url", "http://m.invalid/", "--metadata-only"],
  ];

  it("refuses a stream signed by another key (exit 4) before it acts: no output, nothing written, state untouched", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    for (const args of commands(tempDir())) {
      const out = args.includes("-o") ? dirname(args[args.indexOf("-o") + 1] as string) : undefined;
      const state = tempDir();
      const result = await run([...args, "--stream-key", otherPub, "--state-dir", state]);
      assert.equal(result.code, 4, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(otherFingerprint), args[0]);
      assert.equal(result.stdout, "", `${args[0]} printed nothing`);
      assert.deepEqual(readdirSync(state), [], `${args[0]} left the state alone`);
      if (out) assert.deepEqual(readdirSync(out), [], `${args[0]} wrote nothing`);
    }
  });

  it("accepts it with the right key among several (a keyring mid-rotation), from the env as well", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const keyring = join(dir, "keyring.asc");
    writeFileSync(keyring, `${readFileSync(otherPub, "utf8")}\n${readFileSync(pub, "utf8")}`);
    for (const args of commands(tempDir()).filter(([c]) => c !== "generate" && c !== "lint")) {
      const result = await run([...args, "--state-dir", tempDir()], {
        env: { BOOTSTREAM_STREAM_KEYRING: keyring },
      });
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    }
  });

  it("a .asc of several armored signatures verifies by any one; a text-mode signature binds no exact bytes", async () => {
    const local = tempDir();
    writeFileSync(join(local, "stable.json"), v2);
    const other = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "x" }],
    });
    const byOther = await openpgp.sign({
      message: await openpgp.createMessage({ binary: v2 }),
      signingKeys: await openpgp.readPrivateKey({ armoredKey: other.privateKey }),
      detached: true,
    });
    writeFileSync(join(local, "stable.json.asc"), `${byOther}${asc(V2_ID).toString("utf8")}`);
    const args = [...ISO_QUERY, ...keyArgs(tempDir())];
    assert.equal((await run(["query", join(local, "stable.json"), ...args])).code, 0);
    const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(dir, "sign.asc"), "utf8") });
    const textMode = await openpgp.sign({
      message: await openpgp.createMessage({ text: v2.toString("utf8") }),
      signingKeys: key,
      detached: true,
    });
    writeFileSync(join(local, "stable.json.asc"), textMode as string);
    const refused = await run(["query", join(local, "stable.json"), ...args]);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /text-mode/);
  });

  it("keeps no state for unverified streams: --state-dir or --allow-rollback without a key is a usage error", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const state = tempDir();
    for (const extra of [["--state-dir", state], ["--allow-rollback"]]) {
      const result = await run(["list", url(), ...extra]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /need --stream-key/);
    }
    assert.deepEqual(readdirSync(state), []);
    const missingKey = await run(["list", url(), "--stream-key", join(dir, "no-such-key.asc")]);
    assert.equal(missingKey.code, 2, missingKey.stderr);
  });
});

describe("no rollback, no freeze", () => {
  it("refuses an older signed stream after a newer one (exit 5, both timestamps named); --allow-rollback once", async () => {
    const state = tempDir();
    routes = staticMirror(v2, asc(V2_ID));
    assert.equal((await download(state)).code, 0);
    // A stale or compromised mirror: the older pinned copy, properly signed, as the pointer.
    routes = staticMirror(v1, asc(V1_ID));
    const refused = await download(state);
    assertRefused(refused, 5, /2026-01-01T10:00:00Z.*2026-02-01T10:00:00Z/);
    assert.match(refused.stderr, /rollback/i);
    const allowed = await download(state, ["--allow-rollback"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    // Recorded: v1 is now what this client has, and v2 moves it forward again.
    assert.equal((await download(state)).code, 0);
    routes = staticMirror(v2, asc(V2_ID));
    assert.equal((await download(state)).code, 0);
    routes = staticMirror(v1, asc(V1_ID));
    assert.equal((await download(state)).code, 5);
  });

  it("refuses the same last-modified with other bytes", async () => {
    const state = tempDir();
    const local = tempDir();
    writeFileSync(join(local, "stable.json"), v2);
    writeFileSync(join(local, "stable.json.asc"), asc(V2_ID));
    const args = [...ISO_QUERY, ...keyArgs(state)];
    assert.equal((await run(["query", join(local, "stable.json"), ...args])).code, 0);
    // Another document with v2's last-modified, signed by the same (compromised) key.
    const twin = Buffer.from(
      v2.toString("utf8").replace("fedora-coreos-stream-generator", "other-generator"),
    );
    const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(dir, "sign.asc"), "utf8") });
    const sig = await openpgp.sign({
      message: await openpgp.createMessage({ binary: twin }),
      signingKeys: key,
      detached: true,
    });
    writeFileSync(join(local, "stable.json"), twin);
    writeFileSync(join(local, "stable.json.asc"), sig as string);
    const result = await run(["query", join(local, "stable.json"), ...args]);
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /same as the stream accepted before/);
  });

  it("refuses a stream older than --max-age (exit 5, says how old), or BOOTSTREAM_MAX_AGE", async () => {
    routes = staticMirror(v2, asc(V2_ID));
    const refused = await download(tempDir(), ["--max-age", "14d"]);
    assertRefused(refused, 5, /last modified 2026-02-01T10:00:00Z, \d+d( \d+h)? ago.*14d/);
    const env = await run(["list", url(), ...keyArgs(tempDir())], { env: { BOOTSTREAM_MAX_AGE: "1d" } });
    assert.equal(env.code, 5, env.stderr);
    const fresh = await download(tempDir(), ["--max-age", "3650d"]);
    assert.equal(fresh.code, 0, fresh.stderr);
    const bad = await download(tempDir(), ["--max-age", "two weeks"]);
    assert.equal(bad.code, 2, bad.stderr);
  });

  it("concurrent clients never lose the newest entry", async () => {
    const state = tempDir();
    // The server answers v1 or v2 at random: clients race each other through the state.
    let n = 0;
    const pick = () => (n++ % 2 === 0 ? v1 : v2);
    routes = staticMirror(v2, asc(V2_ID));
    const dynamic = new Map(routes);
    server.server.removeAllListeners("request");
    server.server.on("request", (req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/streams/stable.json") {
        const body = pick();
        const id = body === v1 ? V1_ID : V2_ID;
        res.writeHead(200, { "content-location": `/streams/stable/${id}.json` }).end(body);
        return;
      }
      routes = dynamic;
      handler(req, res);
    });
    try {
      const runs = await Promise.all(
        Array.from({ length: 12 }, () => run(["query", url(), ...ISO_QUERY, ...keyArgs(state)])),
      );
      for (const r of runs) assert.ok(r.code === 0 || r.code === 5, `exit ${r.code}: ${r.stderr}`);
      assert.ok(runs.some((r) => r.code === 0));
    } finally {
      server.server.removeAllListeners("request");
      server.server.on("request", handler);
    }
    // Whatever the interleaving, v2 (the newest) is what the state holds now.
    routes = staticMirror(v1, asc(V1_ID));
    const after = await run(["query", url(), ...ISO_QUERY, ...keyArgs(state)]);
    assert.equal(after.code, 5, after.stderr);
  });
});

describe("through a mirror that did not re-sign", () => {
  /** A mirror's layout: the rewritten stream, and the upstream copy with its signature. */
  function mirrorOf(rewritten: Buffer): Map<string, Reply> {
    return new Map([
      ["/streams/stable.json", { body: rewritten }],
      ["/streams/stable.upstream.json", { body: v2 }],
      ["/streams/stable.upstream.json.asc", { body: asc(V2_ID) }],
      [`/mirror${ISO_PATH}`, { body: ISO }],
    ]);
  }
  // As bootstream mirror --base-url BASE/mirror/ writes it: the upstream path under the base.
  const rebased = () =>
    v2.toString("utf8").replaceAll(`${server.url}/artifacts/`, `${server.url}/mirror/artifacts/`);

  it("accepts the rewritten stream when its upstream copy verifies and only URLs moved", async () => {
    routes = mirrorOf(Buffer.from(rebased()));
    const result = await run(["query", url(), ...ISO_QUERY, "-v", ...keyArgs(tempDir())]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), `${server.url}/mirror${ISO_PATH}`);
    assert.match(result.stderr, /upstream copy/);
  });

  it("bootstream mirror keeps the signature that verified; its output verifies with the upstream key", async () => {
    routes = staticMirror(v2, asc(V1_ID)); // found through history: the pinned copy's .asc is kept
    const to = tempDir();
    const mirrored = await run([
      "mirror",
      url(),
      "--to",
      to,
      "--base-url",
      "http://mirror.invalid/coreos/",
      "--metadata-only",
      ...keyArgs(tempDir()),
    ]);
    assert.equal(mirrored.code, 0, mirrored.stderr);
    assert.deepEqual(readFileSync(join(to, "streams/stable.upstream.json")), v2);
    assert.deepEqual(readFileSync(join(to, "streams/stable.upstream.json.asc")), asc(V2_ID));
    const query = [...ISO_QUERY, ...keyArgs(tempDir())];
    const client = await run(["query", join(to, "streams/stable.json"), ...query]);
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.trim(), `http://mirror.invalid/coreos${ISO_PATH}`);
    // An unverified source gives no signature to keep, and the mirror's stream does not verify.
    routes = new Map([["/streams/stable.json", { body: v2 }]]);
    const unsigned = tempDir();
    const plain = await run([
      "mirror",
      url(),
      "--to",
      unsigned,
      "--base-url",
      "http://m.invalid/",
      "--metadata-only",
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(existsSync(join(unsigned, "streams/stable.upstream.json.asc")), false);
    const refused = await run(["query", join(unsigned, "streams/stable.json"), ...query]);
    assert.equal(refused.code, 4, refused.stderr);
    // Without --stream-key the signature beside the source is still kept (clients verify it).
    routes = staticMirror(v2, asc(V1_ID));
    const unverified = tempDir();
    const kept = await run([
      "mirror",
      url(),
      "--to",
      unverified,
      "--base-url",
      "http://m.invalid/",
      "--metadata-only",
    ]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /unverified/);
    assert.deepEqual(readFileSync(join(unverified, "streams/stable.upstream.json.asc")), asc(V2_ID));
    assert.equal((await run(["query", join(unverified, "streams/stable.json"), ...query])).code, 0);
  });

  it("a mirror run in progress: the older rewrite still verifies through the previous upstream copy", async () => {
    const to = tempDir();
    const mirror = async (pointer: Buffer, id: string) => {
      routes = staticMirror(pointer, asc(id));
      const result = await run([
        "mirror",
        url(),
        "--to",
        to,
        "--base-url",
        "http://mirror.invalid/",
        "--metadata-only",
        ...keyArgs(tempDir()),
      ]);
      assert.equal(result.code, 0, result.stderr);
    };
    await mirror(v1, V1_ID);
    const olderRewrite = readFileSync(join(to, "streams/stable.json"));
    await mirror(v2, V2_ID);
    assert.deepEqual(readFileSync(join(to, "streams/stable.upstream-previous.json")), v1);
    // What a client sees between the mirror's two renames: the new upstream copy, the old rewrite.
    writeFileSync(join(to, "streams/stable.json"), olderRewrite);
    const query = [...ISO_QUERY, "-v", ...keyArgs(tempDir())];
    const client = await run(["query", join(to, "streams/stable.json"), ...query]);
    assert.equal(client.code, 0, client.stderr);
    assert.match(client.stderr, /upstream-previous/);
  });

  it("refuses a rewrite that also changed a digest", async () => {
    const evil = rebased().replace(sha256(ISO), sha256("evil"));
    routes = mirrorOf(Buffer.from(evil));
    const result = await download(tempDir());
    assertRefused(result, 4, /not a faithful mirror|sha256/);
  });

  it("refuses a rewrite that added an artifact", async () => {
    const stream = JSON.parse(rebased());
    stream.architectures.x86_64.artifacts.metal.formats["evil.iso"] = {
      disk: { location: `${server.url}/mirror/artifacts/evil.iso`, sha256: sha256("evil") },
    };
    routes = mirrorOf(Buffer.from(JSON.stringify(stream, null, 4)));
    assertRefused(await download(tempDir()), 4, /not a faithful mirror|not in the upstream/);
  });
});

describe("fetchStream (library)", () => {
  it("runs the same checks and reports BootstreamError codes", async () => {
    const keys = await openpgp.readKeys({ armoredKeys: readFileSync(pub, "utf8") });
    const stateDir = tempDir();
    routes = staticMirror(v2, asc(V2_ID));
    const fetched = await fetchStream(url(), { keys, stateDir });
    assert.equal(fetched.stream.metadata["last-modified"], "2026-02-01T10:00:00Z");
    assert.equal(fetched.signature?.fingerprint, fingerprint);
    assert.equal(fetched.sha256, sha256(v2));
    const code = (expected: string) => (error: unknown) =>
      error instanceof BootstreamError && error.code === expected;
    await assert.rejects(fetchStream(url(), { keys, stateDir, maxAge: "1d" }), code("FROZEN"));
    routes = staticMirror(v1, asc(V1_ID));
    await assert.rejects(fetchStream(url(), { keys, stateDir }), code("ROLLBACK"));
    const other = await openpgp.readKeys({ armoredKeys: readFileSync(otherPub, "utf8") });
    await assert.rejects(fetchStream(url(), { keys: other, stateDir: false }), code("SIGNATURE_INVALID"));
    assert.equal(
      (await fetchStream(url(), { keys, stateDir, allowRollback: true })).signature?.keyId !== undefined,
      true,
    );
  });
});
