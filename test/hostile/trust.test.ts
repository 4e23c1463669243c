/**
 * Hostile tests of issue 13 (clients trust the stream), beyond test/trust.test.ts: a server on
 * 127.0.0.1 that hangs, drips or never ends on signatures and history, points Content-Location
 * anywhere, lists traversal ids in history, redirects the stream elsewhere, serves another
 * stream (or a future-dated one) signed by the right key, and clients racing or killed on
 * the trust state. Every case runs the real executable and checks the exit code and that
 * nothing was acted on (stdout empty) when the stream was refused.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { z } from "zod";
import { BootstreamError } from "../../src/errors.ts";
import { RecordLog } from "../../src/files/record-log.ts";
import { acceptedLog, defaultStateDir } from "../../src/source/trust-state.ts";
import { fetchStream } from "../../src/source/trusted.ts";
import { BIN, type CliRun, spawnBootstream } from "../helpers/cli.ts";
import { fixtureJson, tempDir } from "../helpers/fixtures.ts";
import { testKey } from "../helpers/keys.ts";

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

type Route = Buffer | { body: Buffer; headers?: Record<string, string>; status?: number } | Handler;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Path -> answer, shared by every test; each test works under its own prefix. */
const routes = new Map<string, Route>();
const requested: string[] = [];
const sockets = new Set<Socket>();
const servers: Server[] = [];
let base: string;
let otherBase: string;
let key: openpgp.PrivateKey;
let pub: string;
let home: string;
let counter = 0;

function serve(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  requested.push(`${origin}${req.url ?? ""}`);
  const route = routes.get(`${origin}${path}`);
  if (route === undefined) {
    res.writeHead(404).end();
    return;
  }
  if (typeof route === "function") {
    route(req, res);
    return;
  }
  const reply = Buffer.isBuffer(route) ? { body: route } : route;
  res
    .writeHead(reply.status ?? 200, { "content-length": reply.body.length, ...reply.headers })
    .end(reply.body);
}

async function listen(): Promise<string> {
  let origin = "";
  const server = createServer((req, res) => serve(req, res, origin));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return origin;
}

/** A fresh place on the hostile server: `/tN/streams/...`, with its own routes. */
function site(origin = base) {
  const prefix = `/t${++counter}`;
  const url = (path = "streams/stable.json") => `${origin}${prefix}/${path}`;
  return {
    prefix,
    url,
    set: (path: string, route: Route) => routes.set(url(path), route),
    /** Requests made under this prefix, on any of the servers. */
    requests: () => requested.filter((r) => r.includes(`${prefix}/`)),
  };
}

/** The FCOS fixture with this last-modified (and stream name), as 4-space JSON. */
function stream(lastModified: string, options: { name?: string; location?: string } = {}): Buffer {
  const doc = fixtureJson<{
    stream: string;
    metadata: Record<string, string>;
    architectures: Record<string, { artifacts: Record<string, { formats: Record<string, unknown> }> }>;
  }>("fcos-stable-stream.json");
  doc.stream = options.name ?? "stable";
  doc.metadata["last-modified"] = lastModified;
  const metal = doc.architectures.x86_64?.artifacts.metal as { formats: Record<string, unknown> };
  const iso = metal.formats.iso as { disk: { location: string } };
  if (options.location !== undefined) iso.disk.location = options.location;
  return Buffer.from(`${JSON.stringify(doc, null, 4)}\n`);
}

async function sign(
  bytes: Uint8Array,
  options: { date?: Date; format?: "armored" | "binary" } = {},
): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: bytes });
  const date = options.date === undefined ? {} : { date: options.date };
  if (options.format === "binary")
    return Buffer.from(
      await openpgp.sign({ message, signingKeys: key, detached: true, format: "binary", ...date }),
    );
  return Buffer.from(await openpgp.sign({ message, signingKeys: key, detached: true, ...date }));
}

function history(name: string, entries: { id: string; bytes: Buffer; lastModified: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      stream: name,
      entries: entries.map((e) => ({
        id: e.id,
        "last-modified": e.lastModified,
        sha256: sha256(e.bytes),
        size: e.bytes.length,
        releases: { x86_64: "44.20260707.3.1" },
        published: e.lastModified,
      })),
    }),
  );
}

const QUERY = ["-a", "x86_64", "-p", "metal", "-f", "iso"];

function run(
  args: string[],
  env: Record<string, string> = {},
  options: { stdin?: Buffer; cwd?: string } = {},
): Promise<CliRun> {
  // XDG_STATE_HOME: a run that forgets --state-dir never writes the real home's state.
  return spawnBootstream(args, {
    timeoutMs: 50_000,
    env: { XDG_STATE_HOME: home, ...env },
    ...options,
  });
}

/** `query SOURCE` with the key and a state directory: prints the ISO's URL when it accepts. */
function query(
  source: string,
  state: string,
  extra: string[] = [],
  options: { env?: Record<string, string>; cwd?: string; stdin?: Buffer } = {},
) {
  const { env, ...rest } = options;
  return run(["query", source, ...QUERY, "--stream-key", pub, "--state-dir", state, ...extra], env, rest);
}

function assertRefused(result: CliRun, exit: number, pattern: RegExp): void {
  assert.equal(result.code, exit, `exit ${result.code}: ${result.stderr}`);
  assert.match(result.stderr, pattern);
  assert.equal(result.stdout, "", "nothing acted on");
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

function assertAccepted(result: CliRun): void {
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\.iso\n$/);
}

/** The newest record of the trust state of `url`. */
async function stateOf(state: string, url: string) {
  return (await acceptedLog(state, url).latest())?.value;
}

/** Holds the request open and sends nothing. */
const hang: Handler = () => {};

/** Sends headers, then one byte every `ms` forever. */
const drip =
  (ms: number): Handler =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write("{");
    const timer = setInterval(() => res.write(" "), ms);
    res.on("close", () => clearInterval(timer));
  };

/** Sends an endless body as fast as the client reads it. */
const endless: Handler = (_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {}
  };
  res.on("drain", pump);
  pump();
};

const V1 = "2026-01-01T10:00:00Z";
const V2 = "2026-02-01T10:00:00Z";
const V3 = "2026-03-01T10:00:00Z";
let v1: Buffer;
let v2: Buffer;
let v1Asc: Buffer;
let v2Asc: Buffer;

before(async () => {
  base = await listen();
  otherBase = await listen();
  home = tempDir("bootstream-hostile-trust-home-");
  // Nothing here, in this process or the clients it starts, may touch the real home's state.
  process.env.HOME = tempDir("bootstream-hostile-trust-home-");
  process.env.XDG_STATE_HOME = home;
  const generated = await testKey("stream signer");
  key = generated.privateKey;
  pub = join(tempDir(), "pub.asc");
  writeFileSync(pub, generated.publicKey.armor());
  v1 = stream(V1);
  v2 = stream(V2);
  [v1Asc, v2Asc] = await Promise.all([sign(v1), sign(v2)]);
});

after(() => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
});

/** Deadlines of a second (connect, idle; four for a whole document), as an operator may set them. */
const SHORT = { env: { BOOTSTREAM_TIMEOUT: "1" } };

describe("deadlines on every lookup", { concurrency: true }, () => {
  it("a signature that never answers: the command ends (exit 2: it could not be read), it does not hang", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", hang);
    const started = Date.now();
    const result = await query(s.url(), tempDir(), [], SHORT);
    assertRefused(result, 2, /did not answer within 1 s/);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });

  it("every lookup hangs: exit 2 (nothing could be read), within the deadlines", async () => {
    const s = site();
    s.set("streams/stable.json", {
      body: v2,
      headers: { "content-location": `${s.prefix}/streams/stable/x.json` },
    });
    for (const path of [
      "streams/stable/x.json.asc",
      "streams/stable/history.json",
      "streams/stable.json.asc",
      "streams/stable.upstream.json",
    ])
      s.set(path, hang);
    const started = Date.now();
    const result = await query(s.url(), tempDir(), [], SHORT);
    assertRefused(result, 2, /did not answer/);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });

  it("a history that drips forever is given up, and the signature beside the stream still found", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable/history.json", drip(200));
    s.set("streams/stable.json.asc", v2Asc);
    const started = Date.now();
    assertAccepted(await query(s.url(), tempDir(), [], SHORT));
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });

  it("an endless history is cut at its cap or deadline; an endless signature too", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable/history.json", endless);
    s.set("streams/stable.json.asc", endless);
    const result = await query(s.url(), tempDir(), [], SHORT);
    assertRefused(result, 4, /larger than|did not finish/);
  });

  it("a signature whose headers come and body never does (idle deadline)", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", (_req, res) => {
      res.writeHead(200, { "content-length": "500" });
      res.write("-----BEGIN PGP SIGNATURE-----\n");
    });
    assertRefused(await query(s.url(), tempDir(), [], SHORT), 2, /sent nothing for 1 s/);
  });
});

describe("history.json and Content-Location stay inside the stream's server", { concurrency: true }, () => {
  it("a history whose matching entry has a traversal or URL id is not followed", async () => {
    for (const id of ["../../../etc/x", "http://127.0.0.1:9/x"]) {
      const s = site();
      s.set("streams/stable.json", v2);
      s.set("streams/stable/history.json", history("stable", [{ id, bytes: v2, lastModified: V2 }]));
      const result = await query(s.url(), tempDir());
      assertRefused(result, 4, /history\.json/);
      assert.deepEqual(
        s.requests().filter((r) => !r.startsWith(`${base}${s.prefix}/streams/`)),
        [],
        "no request outside the stream's directory",
      );
    }
  });

  it("Content-Location that leaves the server, or is not http, is ignored", async () => {
    const values = [
      `${otherBase}/streams/stable/20260201.json`,
      `//127.0.0.2:1/streams/stable/20260201.json`,
      "javascript:alert(1)",
      "file:///etc/passwd",
      `/x/${"a".repeat(8000)}.json`,
    ];
    for (const value of values) {
      const s = site();
      s.set("streams/stable.json", { body: v2, headers: { "content-location": value } });
      const result = await query(s.url(), tempDir());
      assert.ok(result.code === 4, `${value}: exit ${result.code}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    assert.equal(
      requested.some((r) => r.startsWith(otherBase)),
      false,
      "nothing asked of another server",
    );
  });

  it("Content-Location with .. or encoded slashes resolves on the same server only, and must still verify", async () => {
    const s = site();
    s.set("streams/stable.json", {
      body: v2,
      headers: { "content-location": `${s.prefix}/streams/stable/../../pinned/%2E%2E%2Fv2.json` },
    });
    s.set("pinned/%2E%2E%2Fv2.json.asc", v1Asc); // a real signature, of other bytes
    assertRefused(await query(s.url(), tempDir()), 4, /does not match these bytes/);
    s.set("pinned/%2E%2E%2Fv2.json.asc", v2Asc);
    assertAccepted(await query(s.url(), tempDir()));
  });
});

describe("what a hostile server says reaches the terminal escaped", () => {
  it("an HTTP reason phrase with terminal escapes is printed escaped", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    const raw: Handler = (req) =>
      req.socket.end(
        "HTTP/1.1 500 \x1b]0;pwned\x07\x1b[2K\x9b31m\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
      );
    s.set("streams/stable.json.asc", raw);
    s.set("streams/stable/history.json", raw);
    const result = await query(s.url(), tempDir());
    assert.ok(result.code === 2 || result.code === 4, result.stderr);
    assert.equal(result.stdout, "");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
    assert.doesNotMatch(result.stderr, /[\u0007\u001b\u009b]/, JSON.stringify(result.stderr));
    assert.match(result.stderr, /\\u001b\]0;pwned/);
  });
});

describe("signature files", { concurrency: true }, () => {
  it("one armored block of several signatures: a bad one (other bytes) and a good one", async () => {
    const s = site();
    const bad = await openpgp.readSignature({ armoredSignature: v1Asc.toString() });
    const good = await openpgp.readSignature({ armoredSignature: v2Asc.toString() });
    const both = new openpgp.Signature(new openpgp.PacketList());
    both.packets.push(...bad.packets, ...good.packets);
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", Buffer.from(both.armor()));
    assertAccepted(await query(s.url(), tempDir()));
    const onlyBad = new openpgp.Signature(new openpgp.PacketList());
    onlyBad.packets.push(...bad.packets, ...bad.packets);
    s.set("streams/stable.json.asc", Buffer.from(onlyBad.armor()));
    assertRefused(await query(s.url(), tempDir()), 4, /does not match these bytes/);
  });

  it("a binary (unarmored) signature verifies; garbage and an empty file are refused", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", await sign(v2, { format: "binary" }));
    assertAccepted(await query(s.url(), tempDir()));
    s.set("streams/stable.json.asc", Buffer.from("\x00\x01garbage"));
    assertRefused(await query(s.url(), tempDir()), 4, /not an OpenPGP signature|signature/);
    s.set("streams/stable.json.asc", Buffer.alloc(0));
    assertRefused(await query(s.url(), tempDir()), 4, /signature/);
  });

  it("a signature made in the future is refused", async () => {
    const s = site();
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", await sign(v2, { date: new Date(Date.now() + 30 * 86_400_000) }));
    assertRefused(await query(s.url(), tempDir()), 4, /creation time is in the future/);
  });
});

/** A signed stream at `streams/stable.json` (and its `.asc`) of a fresh site. */
function signedSite(bytes: Buffer, asc: Buffer, origin = base) {
  const s = site(origin);
  s.set("streams/stable.json", bytes);
  s.set("streams/stable.json.asc", asc);
  return s;
}

async function serveSigned(s: ReturnType<typeof site>, bytes: Buffer, path = "streams/stable.json") {
  s.set(path, bytes);
  s.set(`${path}.asc`, await sign(bytes));
}

const isoDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

describe("freshness cannot be poisoned", { concurrency: true }, () => {
  it("a signed stream dated years ahead is refused (exit 5) and not remembered: the genuine one still goes", async () => {
    const state = tempDir();
    const s = site();
    // One stream signed with a compromised key (or on a publisher with a wrong clock).
    await serveSigned(s, stream(isoDate(Date.now() + 10 * 365 * 86_400_000)));
    assertRefused(await query(s.url(), state), 5, /ahead of this machine's clock/);
    assert.equal(await stateOf(state, s.url()), undefined, "nothing remembered");
    await serveSigned(s, stream(isoDate(Date.now() - 3_600_000)));
    assertAccepted(await query(s.url(), state));
    // A few hours ahead is clock skew, not an attack.
    await serveSigned(s, stream(isoDate(Date.now() + 6 * 3_600_000)));
    assertAccepted(await query(s.url(), state));
  });

  it("the library keeps its state where XDG_STATE_HOME says, given the environment", async () => {
    const s = signedSite(v2, v2Asc);
    const keys = await openpgp.readKeys({ armoredKeys: readFileSync(pub, "utf8") });
    // The library reads no environment itself (only the bin entry touches process).
    const fetched = await fetchStream(s.url(), { keys, stateDir: defaultStateDir({ XDG_STATE_HOME: home }) });
    assert.equal(fetched.stateUrl, s.url());
    assert.equal((await stateOf(join(home, "bootstream"), s.url()))?.lastModified, V2);
  });

  it("the library refuses a future stream too (FROZEN)", async () => {
    const s = site();
    await serveSigned(s, stream(isoDate(Date.now() + 3 * 86_400_000)));
    const keys = await openpgp.readKeys({ armoredKeys: readFileSync(pub, "utf8") });
    await assert.rejects(
      fetchStream(s.url(), { keys, stateDir: tempDir() }),
      (e: unknown) => e instanceof BootstreamError && e.code === "FROZEN",
    );
  });

  it("a last-modified Date.parse takes but RFC 3339 does not is refused before it is remembered", async () => {
    const state = tempDir();
    const s = site();
    for (const value of ["2099-01-01", "Feb 1, 2099", "+275760-09-13T00:00:00Z"]) {
      await serveSigned(s, stream(value));
      assertRefused(await query(s.url(), state), 1, /last-modified/);
      assert.equal(await stateOf(state, s.url()), undefined, `${value}: nothing remembered`);
    }
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", v2Asc);
    assertAccepted(await query(s.url(), state));
  });

  it("the same instant spelled with an offset or fractions, with other bytes, is refused; a millisecond later is newer", async () => {
    const state = tempDir();
    const s = signedSite(v2, v2Asc);
    assertAccepted(await query(s.url(), state));
    for (const same of ["2026-02-01T11:00:00+01:00", "2026-02-01T10:00:00.000Z"]) {
      await serveSigned(s, stream(same));
      assertRefused(await query(s.url(), state), 5, /same as the stream accepted before/);
    }
    await serveSigned(s, stream("2026-02-01T09:59:59.999Z"));
    assertRefused(await query(s.url(), state), 5, /older than/);
    await serveSigned(s, stream("2026-02-01T10:00:00.001Z"));
    assertAccepted(await query(s.url(), state));
  });

  it("--max-age with a last-modified that is missing or not a date: exit 1 naming it", async () => {
    for (const mutate of [
      (d: { metadata: Record<string, unknown> }) => delete d.metadata["last-modified"],
      (d: { metadata: Record<string, unknown> }) => (d.metadata["last-modified"] = 1767261600),
    ]) {
      const doc = JSON.parse(v2.toString());
      mutate(doc);
      const s = site();
      await serveSigned(s, Buffer.from(JSON.stringify(doc)));
      const result = await run(["query", s.url(), ...QUERY, "--max-age", "3650d"]);
      assertRefused(result, 1, /\/metadata\/last-modified/);
    }
  });
});

describe("mix-and-match: another stream signed by the same key", { concurrency: true }, () => {
  it("testing served as stable is refused (exit 4), and cannot poison stable's state", async () => {
    const state = tempDir();
    const s = site();
    // Newer than stable: remembered, it would refuse stable until then.
    await serveSigned(s, stream(V3, { name: "testing" }));
    assertRefused(await query(s.url(), state), 4, /holds stream "testing".*not "stable"/);
    s.set("streams/stable.json", v2);
    s.set("streams/stable.json.asc", v2Asc);
    assertAccepted(await query(s.url(), state));
  });

  it("a redirect from stable.json to testing.json is judged by the name asked for", async () => {
    const s = site();
    await serveSigned(s, stream(V3, { name: "testing" }), "streams/testing.json");
    s.set("streams/stable.json", {
      body: Buffer.alloc(0),
      status: 302,
      headers: { location: s.url("streams/testing.json") },
    });
    assertRefused(await query(s.url(), tempDir()), 4, /holds stream "testing"/);
  });

  it("a pinned copy names its stream by its directory; outside the layout no name is implied", async () => {
    const s = site();
    await serveSigned(s, stream(V3, { name: "testing" }), "streams/stable/20260301.json");
    assertRefused(await query(s.url("streams/stable/20260301.json"), tempDir()), 4, /not "stable"/);
    await serveSigned(s, stream(V3), "streams/stable/20260301.json");
    assertAccepted(await query(s.url("streams/stable/20260301.json"), tempDir()));
    // rhcos.json holding stream rhcos-4.16: a file name that is no stream name in a layout.
    await serveSigned(s, stream(V3, { name: "rhcos-4.16" }), "data/rhcos.json");
    assertAccepted(await query(s.url("data/rhcos.json"), tempDir()));
  });

  it("through a mirror: an upstream copy of another stream is refused, an older one is a rollback", async () => {
    const state = tempDir();
    const s = site();
    const mirrored = (upstream: Buffer) =>
      Buffer.from(
        upstream.toString().replaceAll("https://builds.coreos.fedoraproject.org/", `${base}/mirror/`),
      );
    const testing = stream(V3, { name: "testing" });
    s.set("streams/stable.json", mirrored(testing));
    s.set("streams/stable.upstream.json", testing);
    s.set("streams/stable.upstream.json.asc", await sign(testing));
    assertRefused(await query(s.url(), state), 4, /holds stream "testing"/);
    s.set("streams/stable.json", mirrored(v2));
    s.set("streams/stable.upstream.json", v2);
    s.set("streams/stable.upstream.json.asc", v2Asc);
    const accepted = await query(s.url(), state, ["-v"]);
    assertAccepted(accepted);
    assert.match(accepted.stderr, /upstream copy/);
    s.set("streams/stable.json", mirrored(v1));
    s.set("streams/stable.upstream.json", v1);
    s.set("streams/stable.upstream.json.asc", v1Asc);
    assertRefused(await query(s.url(), state), 5, /older than 2026-02-01T10:00:00Z/);
  });
});

describe("where the trust state is kept", { concurrency: true }, () => {
  it("?x=1, an upper-case scheme, dot segments: the same place, so a rollback through them is refused", async () => {
    const state = tempDir();
    const s = signedSite(v2, v2Asc);
    assertAccepted(await query(s.url(), state));
    s.set("streams/stable.json", v1);
    s.set("streams/stable.json.asc", v1Asc);
    for (const variant of [
      `${s.url()}?x=1`,
      s.url().replace("http://", "HTTP://"),
      s.url().replace("/streams/", "/streams/../streams/./"),
    ])
      assertRefused(await query(variant, state), 5, /older than 2026-02-01T10:00:00Z/);
    const record = await stateOf(state, s.url());
    assert.equal(record?.url, s.url(), "one record, under the URL as the parser spells it");
  });

  it("a redirect to another server: signature looked up there, state kept under the URL asked for", async () => {
    const state = tempDir();
    const target = signedSite(v2, v2Asc, otherBase);
    const s = site();
    s.set("streams/stable.json", { body: Buffer.alloc(0), status: 302, headers: { location: target.url() } });
    const accepted = await query(s.url(), state, ["-v"]);
    assertAccepted(accepted);
    assert.match(accepted.stderr, new RegExp(`${otherBase}${target.prefix}/streams/stable\\.json\\.asc`));
    assert.equal((await stateOf(state, s.url()))?.lastModified, V2);
    assert.equal(await stateOf(state, target.url()), undefined);
    // The same redirect, now to an older copy elsewhere: still this client's history of s.
    const older = signedSite(v1, v1Asc, otherBase);
    s.set("streams/stable.json", { body: Buffer.alloc(0), status: 302, headers: { location: older.url() } });
    assertRefused(await query(s.url(), state), 5, /older than/);
  });

  it("local files: a path starting with http is a file; symlinks share the real file's state", async () => {
    const state = tempDir();
    const cwd = tempDir();
    mkdirSync(join(cwd, "http-mirror", "streams"), { recursive: true });
    const file = join(cwd, "http-mirror", "streams", "stable.json");
    writeFileSync(file, v2);
    writeFileSync(`${file}.asc`, v2Asc);
    assertAccepted(await query("http-mirror/streams/stable.json", state, [], { cwd }));
    symlinkSync(file, join(cwd, "link.json"));
    writeFileSync(file, v1);
    writeFileSync(join(cwd, "link.json.asc"), v1Asc);
    assertRefused(await query(join(cwd, "link.json"), state), 5, /older than/);
  });

  it("standard input: verified with --stream-signature, and no state to remember", async () => {
    const state = tempDir();
    const sig = join(tempDir(), "v1.asc");
    writeFileSync(sig, v1Asc);
    assertAccepted(await query("-", state, ["--stream-signature", sig], { stdin: v1 }));
    assert.deepEqual(readdirSync(state), []);
  });

  it("a state directory that is a file, or inside one: exit 2 naming it, nothing acted on", async () => {
    const s = signedSite(v2, v2Asc);
    const file = join(tempDir(), "not-a-dir");
    writeFileSync(file, "");
    for (const state of [file, join(file, "sub")]) {
      const result = await query(s.url(), state);
      assertRefused(result, 2, new RegExp(file.replaceAll("/", "\\/")));
    }
  });

  it("a state directory that is a symlink is followed: the state lives in its target", async () => {
    const target = tempDir();
    const link = join(tempDir(), "state");
    symlinkSync(target, link);
    const s = signedSite(v2, v2Asc);
    assertAccepted(await query(s.url(), link));
    assert.equal((await stateOf(target, s.url()))?.lastModified, V2);
    s.set("streams/stable.json", v1);
    s.set("streams/stable.json.asc", v1Asc);
    assertRefused(await query(s.url(), link), 5, /older than/);
  });

  it("a damaged newest record is named and never read as empty (a rollback stays refused)", async () => {
    await Promise.all(
      ['{"url": ', "{}", ""].map(async (damage) => {
        const state = tempDir();
        const s = signedSite(v2, v2Asc);
        assertAccepted(await query(s.url(), state));
        const dir = join(state, "streams", sha256(s.url()));
        const newest = readdirSync(dir).sort().at(-1) as string;
        writeFileSync(join(dir, newest), damage);
        s.set("streams/stable.json", v1);
        s.set("streams/stable.json.asc", v1Asc);
        const result = await query(s.url(), state);
        assertRefused(result, 2, new RegExp(`${newest.replace(".", "\\.")}.*(damaged|cannot be read)`));
      }),
    );
  });
});

describe("clients racing on the trust state", () => {
  /** Three versions whose ISO URL tells which one a client accepted. */
  async function versions() {
    const all = [V1, V2, V3].map((lastModified, i) => ({
      lastModified,
      bytes: stream(lastModified, { location: `https://example.invalid/v${i + 1}.iso` }),
    }));
    return Promise.all(all.map(async (v) => ({ ...v, asc: await sign(v.bytes) })));
  }

  /** The pointer answers each request with the next version in turn, naming its pinned copy. */
  async function rotating() {
    const s = site();
    const all = await versions();
    let n = 0;
    s.set("streams/stable.json", (_req, res) => {
      const i = [0, 2, 1, 0, 1][n++ % 5] as number;
      const v = all[i] as (typeof all)[number];
      res.writeHead(200, { "content-location": `${s.prefix}/streams/stable/v${i + 1}.json` }).end(v.bytes);
    });
    for (const [i, v] of all.entries()) s.set(`streams/stable/v${i + 1}.json.asc`, v.asc);
    return { s, all };
  }

  it("20 processes with a mix of versions: the newest accepted survives, none fails on the state", async () => {
    const state = tempDir();
    const { s } = await rotating();
    const runs = await Promise.all(Array.from({ length: 20 }, () => query(s.url(), state)));
    const accepted = new Set<string>();
    for (const r of runs) {
      assert.ok(r.code === 0 || r.code === 5, `exit ${r.code}: ${r.stderr}`);
      if (r.code === 0) accepted.add(/v(\d)\.iso/.exec(r.stdout)?.[1] as string);
      else assert.match(r.stderr, /older than|same as/);
    }
    assert.ok(accepted.has("3"), `v3 accepted by someone: ${[...accepted]}`);
    assert.equal((await stateOf(state, s.url()))?.lastModified, V3);
  });

  it("clients killed with SIGKILL at any moment leave a state the next client reads", async () => {
    const state = tempDir();
    const { s, all } = await rotating();
    const killed = Array.from({ length: 10 }, (_, i) => {
      const child = spawn(
        process.execPath,
        [BIN, "query", s.url(), ...QUERY, "--stream-key", pub, "--state-dir", state],
        { stdio: "ignore", env: { ...process.env, XDG_STATE_HOME: home } },
      );
      // Spread over start-up, the signature check and the state update of loaded processes.
      const timer = setTimeout(() => child.kill("SIGKILL"), 400 + i * 250);
      return new Promise<void>((resolve) =>
        child.on("exit", () => {
          clearTimeout(timer);
          resolve();
        }),
      );
    });
    await Promise.all(killed);
    const dir = join(state, "streams", sha256(s.url()));
    for (const name of existsSync(dir) ? readdirSync(dir) : [])
      if (/^\d{12}\.json$/.test(name)) JSON.parse(readFileSync(join(dir, name), "utf8"));
    // v3 (the newest) is accepted whatever the kills left, and then v2 is a rollback.
    const [, second, third] = all as [unknown, (typeof all)[number], (typeof all)[number]];
    s.set("streams/stable.json", third.bytes);
    s.set("streams/stable.json.asc", third.asc);
    assertAccepted(await query(s.url(), state));
    s.set("streams/stable.json", second.bytes);
    s.set("streams/stable.json.asc", second.asc);
    assertRefused(await query(s.url(), state), 5, /older than/);
  });

  it("the record log under contention: no reader sees a vanished record, no update lost or counted twice", async () => {
    const work = tempDir();
    const logDir = join(work, "log");
    const child = join(work, "child.mts");
    writeFileSync(
      child,
      `import { z } from ${JSON.stringify(import.meta.resolve("zod"))};
import { RecordLog } from ${JSON.stringify(import.meta.resolve("../../src/files/record-log.ts"))};
const log = new RecordLog(${JSON.stringify(logDir)}, { schema: z.object({ n: z.number() }), what: "a counter" });
await Promise.all(Array.from({ length: 6 }, async () => {
  for (let i = 0; i < 40; i++) await log.update((c) => ({ n: (c?.n ?? 0) + 1 }));
}));
`,
    );
    const exits = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const p = spawn(process.execPath, ["--import", "tsx", child], {
              cwd: new URL("../..", import.meta.url),
              stdio: ["ignore", "ignore", "pipe"],
            });
            let stderr = "";
            p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
            p.on("exit", (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const e of exits) assert.equal(e.code, 0, e.stderr.slice(0, 500));
    const log = new RecordLog(logDir, { schema: z.object({ n: z.number() }), what: "a counter" });
    assert.equal((await log.latest())?.value.n, 4 * 6 * 40);
  });
});
