/**
 * Hostile servers behind a stream URL: every SOURCE read over HTTP (validate, query, lint,
 * ...) has a connect, idle and total deadline and a size cap that holds with or without a
 * Content-Length. Each attack runs the real executable against a real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BIN } from "../helpers/cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let server: Server;
let base: string;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();

/** Every behaviour a broken or malicious stream server can have, by path. */
function hostile(path: string, res: ServerResponse): void {
  switch (path) {
    case "/silent.json":
      return; // accepts, reads the request, never answers
    case "/stall-body.json":
      res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
      res.write('{"stream": "stable", "metadata": {');
      return; // headers and a little, then silence
    case "/endless.json": {
      // Chunked (no Content-Length), never ends: only the cap stops a reader.
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      const pump = () => {
        while (res.write(chunk)) {}
        res.once("drain", pump);
      };
      pump();
      res.on("close", () => res.removeAllListeners("drain"));
      return;
    }
    case "/huge-length.json":
      res.writeHead(200, { "content-type": "application/json", "content-length": String(10 * 1024 ** 3) });
      res.write("{");
      return;
    case "/drip.json": {
      // One byte every 300 ms: never idle long enough for the idle deadline.
      res.writeHead(200, { "content-type": "application/json" });
      const timer = setInterval(() => res.write(" "), 300);
      timers.add(timer);
      res.on("close", () => clearInterval(timer));
      return;
    }
    case "/loop.json":
      res.writeHead(302, { location: "/loop.json" }).end();
      return;
    case "/to-file.json":
      res.writeHead(302, { location: "file:///etc/passwd" }).end();
      return;
    default:
      res.writeHead(404).end();
  }
}

before(async () => {
  server = createServer((req, res) => hostile(new URL(req.url ?? "/", "http://x").pathname, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The real executable with BOOTSTREAM_TIMEOUT set; killed (and failed) if it outlives `limitMs`. */
function run(args: string[], timeoutSeconds: string, limitMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, BOOTSTREAM_TIMEOUT: timeoutSeconds },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c;
    });
    const killer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${limitMs} ms: it hangs. stderr: ${stderr}`));
    }, limitMs);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

test("attack: stream server accepts the connection and never answers -> TIMEOUT naming the host, exit 2", async () => {
  const r = await run(["validate", `${base}/silent.json`], "1", 15_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:\d+ did not answer within 1 s/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
});

test("attack: stream server sends headers then stalls mid-body -> TIMEOUT naming the host", async () => {
  const r = await run(["query", `${base}/stall-body.json`, "-a", "x86_64"], "1", 15_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:\d+ sent nothing for 1 s/);
});

test("attack: endless chunked body without Content-Length -> refused at the 32 MiB cap, memory bounded", async () => {
  // In a process of its own so its peak RSS is the reader's alone.
  const script = `
    import { readSource } from "./src/source/read.ts";
    try { await readSource(process.argv[1]); console.log("read"); }
    catch (e) { console.log(e.code); }
    console.log(process.resourceUsage().maxRSS);
  `;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script, `${base}/endless.json`],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c;
  });
  await new Promise((resolve) => child.on("close", resolve));
  const [code, maxRssKb] = out.trim().split("\n");
  assert.equal(code, "TOO_LARGE");
  assert.ok(Number(maxRssKb) < 200 * 1024, `peak RSS ${maxRssKb} KiB`);
});

test("attack: Content-Length of 10 GiB -> refused before reading the body", async () => {
  const r = await run(["validate", `${base}/huge-length.json`], "5", 15_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /larger than 32 MiB/);
  assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
});

test("attack: server drips one byte at a time inside the idle deadline -> total deadline ends it", async () => {
  const r = await run(["validate", `${base}/drip.json`], "1", 20_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /did not finish sending within 4 s/);
});

test("attack: redirect loop -> one-line IO error, no hang", async () => {
  const r = await run(["validate", `${base}/loop.json`], "5", 15_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot reach 127\.0\.0\.1:\d+: redirect count exceeded/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
});

test("attack: redirect to file:///etc/passwd -> refused, nothing of the file shown", async () => {
  const r = await run(["validate", `${base}/to-file.json`], "5", 15_000);
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /root:x:0:0/);
});

test("attack: BOOTSTREAM_TIMEOUT that is not a number -> usage error naming the variable", async () => {
  const r = await run(["validate", `${base}/silent.json`], "soon", 15_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /BOOTSTREAM_TIMEOUT="soon": expected a number of seconds/);
});
