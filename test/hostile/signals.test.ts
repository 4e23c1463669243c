/**
 * Signals end every command: the first SIGINT/SIGTERM stops it within a moment, removes the
 * temporary files it was writing, and the shell sees 130/143. `serve` first finishes what is
 * in flight (bounded). Each attack runs the real executable; peers are real sockets on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants as fsConstants,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { constants } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { publishStream } from "../../src/publish/publish.ts";
import { FsStore } from "../../src/storage/index.ts";
import { type RunningBootstream, startBootstream, startServe } from "../helpers/cli.ts";
import { fixtureJson, fixtureText, tempDir } from "../helpers/fixtures.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The status a shell reports: the exit code, or 128 + the number of the signal that ended it. */
function shellStatus(proc: RunningBootstream): Promise<{ status: number; at: number }> {
  return new Promise((resolve) => {
    const report = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ status: code ?? 128 + (signal ? constants.signals[signal] : 0), at: Date.now() });
    if (proc.child.exitCode !== null || proc.child.signalCode !== null)
      report(proc.child.exitCode, proc.child.signalCode);
    else proc.child.once("exit", report);
  });
}

/** Kills the child if a test failed before it ended, so a broken build cannot hang the suite. */
const children: RunningBootstream[] = [];
function start(args: string[]): RunningBootstream {
  const proc = startBootstream(args);
  children.push(proc);
  return proc;
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
const fds: number[] = [];
after(() => {
  for (const proc of children) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
  for (const fd of fds) closeSync(fd);
});

/** Opens the FIFO's write end once a reader has it open (ENXIO until then); the reader then blocks in read. */
async function holdFifo(path: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      fds.push(openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENXIO") throw error;
      await sleep(50);
    }
  }
  throw new Error("bootstream never opened the FIFO");
}

async function blockedOnFifo(): Promise<RunningBootstream> {
  const fifo = join(tempDir(), "stream.json");
  execFileSync("mkfifo", [fifo]);
  const proc = start(["validate", fifo]);
  await holdFifo(fifo);
  await sleep(200); // the read is now pending in the thread pool
  return proc;
}

test("attack: validate blocked reading a FIFO gets SIGINT -> exits 130 within 2 s", {
  timeout: 30_000,
}, async () => {
  const proc = await blockedOnFifo();
  const sent = Date.now();
  proc.child.kill("SIGINT");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
});

test("attack: validate blocked reading a FIFO gets SIGTERM -> exits 143 within 2 s", {
  timeout: 30_000,
}, async () => {
  const proc = await blockedOnFifo();
  const sent = Date.now();
  proc.child.kill("SIGTERM");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 143, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
});

test("attack: fmt is interrupted while writing its temporary files -> exits 130, no *.tmp, every file whole", {
  timeout: 30_000,
}, async () => {
  const dir = tempDir();
  // Non-canonical (compact) streams of ~2 MB each: fmt spends most of its time writing temp files.
  const stream = fixtureJson("fcos-stable-stream.json");
  const original = JSON.stringify({ ...stream, "x-padding": Array(20_000).fill("a".repeat(100)) });
  const files = Array.from({ length: 60 }, (_, i) => join(dir, `s${String(i).padStart(2, "0")}.json`));
  for (const file of files) writeFileSync(file, original);
  const proc = start(["fmt", ...files]);
  // Stop the process at the moment one of its temporary files exists, then interrupt it.
  let caught = false;
  for (let i = 0; i < 4000 && proc.child.exitCode === null; i++) {
    proc.child.kill("SIGSTOP");
    if (readdirSync(dir).some((n) => n.endsWith(".tmp"))) {
      caught = true;
      proc.child.kill("SIGINT");
      proc.child.kill("SIGCONT");
      break;
    }
    proc.child.kill("SIGCONT");
    await sleep(3);
  }
  assert.ok(caught, "never saw a temporary file");
  const { status } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !n.endsWith(".json")),
    [],
    "temporary files left behind",
  );
  const formatted = files.filter((f) => readFileSync(f, "utf8") !== original);
  assert.ok(formatted.length < files.length, "interrupted before the end");
  for (const file of formatted) assert.ok(readFileSync(file, "utf8").endsWith("}\n"), `${file} is whole`);
});

async function serveStore(): Promise<{ proc: RunningBootstream; url: string; store: FsStore }> {
  const root = tempDir("bootstream-signal-serve-");
  const store = new FsStore(root);
  await publishStream(store, fixtureText("fcos-stable-stream-2020.json"));
  const { proc, url } = await startServe(root, {
    tokenFileText: "token-for-signal-tests\n",
    track: (p) => children.push(p),
  });
  return { proc, url, store };
}

/** Starts a publish whose body is only half sent, so the request is in flight. */
async function halfSentPublish(url: string, body: Buffer): Promise<Socket> {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  sockets.add(socket);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(
    `PUT /streams/stable.json?force=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-for-signal-tests\r\nContent-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n`,
  );
  socket.write(body.subarray(0, 1000));
  await sleep(200);
  return socket;
}

test("attack: serve gets SIGTERM during a publish -> finishes the request, then exits 143", {
  timeout: 30_000,
}, async () => {
  const { proc, url, store } = await serveStore();
  const body = Buffer.from(fixtureText("fcos-stable-stream.json"));
  const socket = await halfSentPublish(url, body);
  proc.child.kill("SIGTERM");
  await sleep(200);
  let response = "";
  socket.on("data", (c: Buffer) => {
    response += c.toString();
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write(body.subarray(1000));
  await closed;
  assert.match(response, /^HTTP\/1\.1 201 /);
  const { status } = await shellStatus(proc);
  assert.equal(status, 143, proc.output().stderr);
  assert.equal(new TextDecoder().decode((await store.get("streams/stable.json"))?.body), body.toString());
});

test("attack: a client holds a request open while serve gets SIGTERM -> serve still exits 143 within its grace", {
  timeout: 30_000,
}, async () => {
  const { proc, url } = await serveStore();
  await halfSentPublish(url, Buffer.from(fixtureText("fcos-stable-stream.json")));
  const sent = Date.now();
  proc.child.kill("SIGTERM");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 143, proc.output().stderr);
  assert.ok(at - sent < 13_000, `took ${at - sent} ms`);
});

test("attack: a second signal while serve finishes in-flight requests -> it ends at once", {
  timeout: 30_000,
}, async () => {
  const { proc, url } = await serveStore();
  await halfSentPublish(url, Buffer.from(fixtureText("fcos-stable-stream.json")));
  proc.child.kill("SIGTERM");
  await sleep(300);
  const sent = Date.now();
  proc.child.kill("SIGINT");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
});

/** A peer that accepts connections and reads requests but never answers. */
async function stalledPeer(): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer(() => {
    requests++;
  });
  server.on("connection", (socket) => sockets.add(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
  };
}

async function whenAsked(peer: { requests: () => number }): Promise<void> {
  for (let i = 0; i < 400 && peer.requests() === 0; i++) await sleep(50);
  assert.ok(peer.requests() > 0, "bootstream never asked the peer");
}

test("attack: download stuck on a peer that never answers gets SIGINT -> exits 130 within 2 s", {
  timeout: 30_000,
}, async () => {
  const peer = await stalledPeer();
  const dir = tempDir();
  const proc = start(["download", "-u", `${peer.url}/image.raw`, "--insecure", "-C", dir]);
  await whenAsked(peer);
  const sent = Date.now();
  proc.child.kill("SIGINT");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
  // Only a resumable .part may stay (kept on purpose), never a temporary file.
  assert.deepEqual(
    readdirSync(dir).filter((n) => !n.endsWith(".part")),
    [],
  );
});

test("attack: mirror stuck on a stream server that never answers gets SIGINT -> exits 130 within 2 s", {
  timeout: 30_000,
}, async () => {
  const peer = await stalledPeer();
  const dir = tempDir();
  const proc = start(["mirror", `${peer.url}/stable.json`, "--to", dir, "--base-url", "https://m.example/"]);
  await whenAsked(peer);
  const sent = Date.now();
  proc.child.kill("SIGINT");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
  assert.deepEqual(readdirSync(dir), []);
});
