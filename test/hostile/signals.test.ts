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
import { elapse, waitFor } from "../helpers/wait.ts";

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

/**
 * Opens the FIFO's write end once a reader has it open (ENXIO until then); the reader then blocks
 * in read. Polled: opening a FIFO's read end emits nothing another process can wait on.
 */
async function holdFifo(path: string): Promise<void> {
  await waitFor(
    () => {
      try {
        fds.push(openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENXIO") throw error;
        return false;
      }
    },
    { timeoutMs: 20_000, intervalMs: 20, what: "bootstream to open the FIFO" },
  );
}

/** Whether one of the process's threads is asleep in a pipe read (Linux: /proc/PID/task/TID/wchan). */
function blockedInPipeRead(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).some((tid) => {
    try {
      return /pipe_read|pipe_wait/.test(readFileSync(`/proc/${pid}/task/${tid}/wchan`, "utf8"));
    } catch {
      return false; // the thread ended meanwhile
    }
  });
}

async function blockedOnFifo(): Promise<RunningBootstream> {
  const fifo = join(tempDir(), "stream.json");
  execFileSync("mkfifo", [fifo]);
  const proc = start(["validate", fifo]);
  await holdFifo(fifo);
  // Polled until the read is pending in the thread pool: the kernel shows it, nothing emits it.
  const pid = proc.child.pid ?? assert.fail("validate did not start");
  await waitFor(() => blockedInPipeRead(pid), {
    timeoutMs: 10_000,
    intervalMs: 10,
    what: "validate to block reading the FIFO",
  });
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
    // The sampling interval of this hunt (stop, look for a *.tmp, resume): the moment is the
    // behaviour under test and no event marks it; the loop is bounded by its count.
    await elapse(3);
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
    logLevel: "info",
    track: (p) => children.push(p),
  });
  return { proc, url, store };
}

/**
 * Starts a publish whose body is only half sent, so the request is in flight: it asks
 * `Expect: 100-continue` and returns once the server's "100 Continue" says it has the request.
 * `response()` is everything the server has answered so far.
 */
async function halfSentPublish(
  url: string,
  body: Buffer,
): Promise<{ socket: Socket; response: () => string }> {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  sockets.add(socket);
  let response = "";
  socket.on("data", (c: Buffer) => {
    response += c.toString();
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(
    `PUT /streams/stable.json?force=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-for-signal-tests\r\nContent-Length: ${body.byteLength}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
  );
  await waitFor(() => response.startsWith("HTTP/1.1 100 "), { timeoutMs: 10_000, what: "100 Continue" });
  socket.write(body.subarray(0, 1000));
  return { socket, response: () => response };
}

test("attack: serve gets SIGTERM during a publish -> finishes the request, then exits 143", {
  timeout: 30_000,
}, async () => {
  const { proc, url, store } = await serveStore();
  const body = Buffer.from(fixtureText("fcos-stable-stream.json"));
  const { socket, response } = await halfSentPublish(url, body);
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  proc.child.kill("SIGTERM");
  await proc.waitFor(/shutting down/, 10_000);
  socket.write(body.subarray(1000));
  await closed;
  assert.match(response(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
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
  await proc.waitFor(/shutting down/, 10_000);
  const sent = Date.now();
  proc.child.kill("SIGINT");
  const { status, at } = await shellStatus(proc);
  assert.equal(status, 130, proc.output().stderr);
  assert.ok(at - sent < 2000, `took ${at - sent} ms`);
});

/** A peer that accepts connections and reads requests but never answers. */
async function stalledPeer(): Promise<{ url: string; requests: () => number; asked: Promise<void> }> {
  let requests = 0;
  let onAsked = () => {};
  const asked = new Promise<void>((resolve) => {
    onAsked = resolve;
  });
  const server = createServer(() => {
    requests++;
    onAsked();
  });
  server.on("connection", (socket) => sockets.add(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    asked,
  };
}

/** Resolves at the peer's first request; fails after 20 s. */
async function whenAsked(peer: { asked: Promise<void> }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("bootstream never asked the peer")), 20_000);
  });
  try {
    await Promise.race([peer.asked, deadline]);
  } finally {
    clearTimeout(timer);
  }
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
