/**
 * bootstream serve on a real HTTP server on 127.0.0.1, over a store filled by the real
 * publish path; the S3 store is served too. Requests go through node's fetch and raw
 * sockets (for what fetch refuses to send: traversal paths, bogus methods, slow bodies).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { publishStream } from "../src/publish/publish.ts";
import { type RunningServer, startServer } from "../src/serve/lifecycle.ts";
import { createLogger } from "../src/serve/log.ts";
import { FsStore } from "../src/storage/index.ts";
import { S3Store } from "../src/storage/s3.ts";
import { runBootstream, startServe } from "./helpers/cli.ts";
import { fixtureJson, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";
import { waitFor } from "./helpers/wait.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const STABLE_TEXT = fixtureText("fcos-stable-stream.json");
const OLD_TEXT = fixtureText("fcos-stable-stream-2020.json");
const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const TOKEN = "s3cr3t-token-for-tests";

/** Sends raw bytes and returns the status line's code (for requests fetch will not make). */
function rawStatus(url: string, raw: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let data = "";
    socket.on("data", (c) => {
      data += c.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => reject(new Error(`no answer; got ${data}`)));
  });
}

describe("serve over a local directory store", () => {
  let root: string;
  let server: RunningServer;
  let logLines: string[];

  before(async () => {
    const parent = tempDir("bootstream-serve-");
    root = join(parent, "store");
    mkdirSync(root);
    // A file beside the store that no request may ever reach.
    writeFileSync(join(parent, "secret.json"), '{"secret": true}\n');
    const store = new FsStore(root);
    await publishStream(store, OLD_TEXT);
    await publishStream(store, STABLE_TEXT, { force: true });
    logLines = [];
    const log = new PassThrough();
    log.on("data", (c: Buffer) => logLines.push(...c.toString().trim().split("\n")));
    server = await startServer({
      store,
      logger: createLogger(log, "info"),
      port: 0,
      revalidateMs: 200,
      tokens: [TOKEN],
      maxBodyBytes: 1024 * 1024,
      bodyTimeoutMs: 1000,
    });
  });
  after(() => server.close());

  it("serves the pointer with a strong ETag, short caching and the pinned copy it equals", async () => {
    const res = await fetch(`${server.url}/streams/stable.json`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.equal(body, STABLE_TEXT);
    assert.equal(res.headers.get("etag"), `"${sha(STABLE_TEXT)}"`);
    assert.equal(
      res.headers.get("cache-control"),
      "public, max-age=60, stale-while-revalidate=60, stale-if-error=86400",
    );
    assert.equal(res.headers.get("content-location"), "/streams/stable/20260721.json");
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.ok(res.headers.get("last-modified"));
  });

  it("serves pinned copies as immutable, history, and the flat aliases", async () => {
    const pinned = await fetch(`${server.url}/streams/stable/20200110.json`);
    assert.equal(await pinned.text(), OLD_TEXT);
    assert.equal(pinned.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const flat = await fetch(`${server.url}/stream-stable-20200110.json`);
    assert.equal(await flat.text(), OLD_TEXT);
    const flatPointer = await fetch(`${server.url}/stream-stable.json`);
    assert.equal(await flatPointer.text(), STABLE_TEXT);
    const history = (await (await fetch(`${server.url}/streams/stable/history.json`)).json()) as Json;
    assert.deepEqual(
      history.entries.map((e: Json) => e.id),
      ["20260721", "20200110"],
    );
    const list = (await (await fetch(`${server.url}/v1/streams`)).json()) as Json;
    assert.equal(list.streams[0].name, "stable");
  });

  it("answers If-None-Match and If-Modified-Since with 304", async () => {
    const first = await fetch(`${server.url}/streams/stable.json`);
    await first.arrayBuffer();
    const etag = first.headers.get("etag") as string;
    const byEtag = await fetch(`${server.url}/streams/stable.json`, { headers: { "if-none-match": etag } });
    assert.equal(byEtag.status, 304);
    assert.equal(byEtag.headers.get("etag"), etag);
    const byDate = await fetch(`${server.url}/streams/stable.json`, {
      headers: { "if-modified-since": first.headers.get("last-modified") as string },
    });
    assert.equal(byDate.status, 304);
    const stale = await fetch(`${server.url}/streams/stable.json`, {
      headers: { "if-none-match": '"0000"' },
    });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  });

  it("negotiates gzip and br with precompressed bodies and Vary: Accept-Encoding", async () => {
    for (const [encoding, decode] of [
      ["gzip", gunzipSync],
      ["br", brotliDecompressSync],
    ] as const) {
      const res = await new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>(
        (resolve, reject) => {
          request(`${server.url}/streams/stable.json`, { headers: { "accept-encoding": encoding } }, (r) => {
            const chunks: Buffer[] = [];
            r.on("data", (c: Buffer) => chunks.push(c));
            r.on("end", () => resolve({ headers: r.headers, body: Buffer.concat(chunks) }));
          })
            .on("error", reject)
            .end();
        },
      );
      assert.equal(res.headers["content-encoding"], encoding);
      assert.equal(res.headers.vary, "Accept-Encoding");
      assert.equal(res.headers.etag, `"${sha(STABLE_TEXT)}-${encoding}"`);
      assert.ok(res.body.byteLength < STABLE_TEXT.length / 5);
      assert.equal(decode(res.body).toString(), STABLE_TEXT);
    }
  });

  it("answers HEAD like GET without a body", async () => {
    for (const path of [
      "/streams/stable.json",
      "/streams/stable/20200110.json",
      "/streams/stable/history.json",
      "/",
      "/healthz",
      "/v1/streams",
      "/metrics",
    ]) {
      const identity = { "accept-encoding": "identity" };
      const get = await fetch(`${server.url}${path}`, { headers: identity });
      const getBody = await get.arrayBuffer();
      const head = await fetch(`${server.url}${path}`, { method: "HEAD", headers: identity });
      assert.equal(head.status, get.status, path);
      assert.equal((await head.arrayBuffer()).byteLength, 0, path);
      if (path !== "/metrics")
        assert.equal(head.headers.get("content-length"), String(getBody.byteLength), path);
    }
  });

  it("reports health and Prometheus metrics by route and status, with a latency histogram", async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as Json).status, "ok");
    await (await fetch(`${server.url}/streams/nope.json`)).arrayBuffer();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /^bootstream_http_requests_total\{route="pointer",method="GET",status="200"\} \d+$/m,
    );
    assert.match(metrics, /^bootstream_http_requests_total\{route="pointer",method="GET",status="404"\} 1$/m);
    assert.match(metrics, /^bootstream_http_response_bytes_total\{route="pointer"\} \d+$/m);
    assert.match(
      metrics,
      /^bootstream_http_request_duration_seconds_bucket\{route="pointer",le="\+Inf"\} \d+$/m,
    );
    assert.match(metrics, /^# TYPE bootstream_http_request_duration_seconds histogram$/m);
  });

  it("logs one JSON line per request", async () => {
    await (await fetch(`${server.url}/streams/stable.json?log-check`)).arrayBuffer();
    const line = logLines
      .map((l) => JSON.parse(l) as Json)
      .find((l) => l.url === "/streams/stable.json?log-check");
    assert.ok(line);
    assert.equal(line.msg, "request");
    assert.equal(line.level, "info");
    assert.equal(line.status, 200);
    assert.equal(line.route, "pointer");
    assert.equal(typeof line.ms, "number");
  });

  it("refuses path traversal in every spelling and never reads outside the store", async () => {
    for (const path of [
      "/streams/../../secret.json",
      "/streams/%2e%2e/%2e%2e/secret.json",
      "/streams/..%2f..%2fsecret.json",
      "/stream-..%2F..%2Fsecret.json",
      "/streams/stable/..%2F..%2F..%2Fsecret.json",
      "/streams/..json",
      "//secret.json",
      "/streams/stable/../../../secret.json",
      "/streams/stable%00.json",
    ]) {
      const status = await rawStatus(
        server.url,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.ok(status === 404 || status === 400, `${path} -> ${status}`);
    }
    const ok = await fetch(`${server.url}/streams/stable.json`);
    assert.equal(ok.status, 200, "still serving");
    await ok.arrayBuffer();
  });

  it("answers overlong URLs, unknown methods and unsupported methods with 4xx", async () => {
    assert.equal(
      await rawStatus(
        server.url,
        `GET /${"a".repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ),
      414,
    );
    assert.equal(
      await rawStatus(
        server.url,
        `GET /${"a".repeat(20000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ),
      431,
    );
    assert.equal(
      await rawStatus(
        server.url,
        "BREW /streams/stable.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ),
      400,
    );
    const del = await fetch(`${server.url}/streams/stable.json`, { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get("allow"), "GET, HEAD, PUT");
    await del.arrayBuffer();
  });

  it("lets only a valid bearer token publish; 401 without, 403 with a wrong one, nothing written", async () => {
    const body = JSON.stringify(fixtureJson("fcos-stable-stream.json"));
    const none = await fetch(`${server.url}/streams/stable.json`, { method: "PUT", body });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="bootstream"');
    await none.arrayBuffer();
    const wrong = await fetch(`${server.url}/streams/stable.json`, {
      method: "PUT",
      body,
      headers: { authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 403);
    await wrong.arrayBuffer();
    const history = (await (await fetch(`${server.url}/streams/stable/history.json`)).json()) as Json;
    assert.equal(history.entries.length, 2);
  });

  it("publishes with PUT (If-Match on the pointer's ETag) and serves the change within a second", async () => {
    const next = fixtureJson<Json>("fcos-stable-stream.json");
    next.metadata["last-modified"] = "2026-07-22T00:00:00Z";
    const text = `${JSON.stringify(next, null, 4)}\n`;
    const stale = await fetch(`${server.url}/streams/stable.json`, {
      method: "PUT",
      body: text,
      headers: { authorization: `Bearer ${TOKEN}`, "if-match": `"${sha(OLD_TEXT)}"` },
    });
    assert.equal(stale.status, 412);
    assert.equal(((await stale.json()) as Json).error.code, "CONFLICT");
    const ok = await fetch(`${server.url}/streams/stable.json`, {
      method: "PUT",
      body: text,
      headers: { authorization: `Bearer ${TOKEN}`, "if-match": `"${sha(STABLE_TEXT)}-gzip"` },
    });
    assert.equal(ok.status, 201, await ok.clone().text());
    assert.equal(ok.headers.get("location"), "/streams/stable/20260722.json");
    const served = await fetch(`${server.url}/streams/stable.json`);
    assert.equal(await served.text(), text);
    assert.equal(served.headers.get("content-location"), "/streams/stable/20260722.json");
  });

  it("picks up a publish by another process within a second, without restart", async () => {
    const next = fixtureJson<Json>("fcos-stable-stream.json");
    next.metadata["last-modified"] = "2026-07-23T00:00:00Z";
    const file = join(tempDir(), "next.json");
    writeFileSync(file, `${JSON.stringify(next, null, 4)}\n`);
    await (await fetch(`${server.url}/streams/stable.json`)).arrayBuffer(); // warm the cache
    const run = await runBootstream(["publish", file, "--store", root]);
    assert.equal(run.code, 0, run.stderr);
    // Polled: a client has no event for "the cache now holds the new stream"; the deadline is the claim.
    await waitFor(
      async () =>
        (await (await fetch(`${server.url}/streams/stable.json`)).text()).includes("2026-07-23T00:00:00Z"),
      { timeoutMs: 1000, intervalMs: 50, what: "the new stream served within a second" },
    );
  });

  it("refuses with 4xx: a lint failure, malformed JSON, an oversized body, a slow body; and keeps serving", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const lint = await fetch(`${server.url}/v1/publish`, { method: "POST", body: OLD_TEXT, headers: auth });
    assert.equal(lint.status, 422);
    assert.equal(((await lint.json()) as Json).error.code, "POLICY_VIOLATION");
    const malformed = await fetch(`${server.url}/v1/publish`, {
      method: "POST",
      body: '{"stream": ',
      headers: auth,
    });
    assert.equal(malformed.status, 422);
    assert.equal(((await malformed.json()) as Json).error.code, "INVALID_DOCUMENT");
    const huge = await fetch(`${server.url}/v1/publish`, {
      method: "POST",
      body: "x".repeat(2 * 1024 * 1024),
      headers: auth,
    });
    assert.equal(huge.status, 413);
    await huge.arrayBuffer();
    const slow = await rawStatus(
      server.url,
      `POST /v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000\r\n\r\n{"stream":`,
    );
    assert.equal(slow, 408);
    const still = await fetch(`${server.url}/streams/stable.json`);
    assert.equal(still.status, 200);
    await still.arrayBuffer();
  });
});

describe("serve over S3 (Ceph RGW)", () => {
  it("serves what publish wrote to the bucket, and publishes through the API", async () => {
    const location = await freshBucket("serve");
    const store = new S3Store(location, { endpoint: s3Endpoint() });
    await publishStream(store, OLD_TEXT);
    const server = await startServer({
      store,
      logger: createLogger(new PassThrough(), "silent"),
      port: 0,
      tokens: [TOKEN],
    });
    try {
      const res = await fetch(`${server.url}/streams/stable.json`);
      assert.equal(await res.text(), OLD_TEXT);
      const put = await fetch(`${server.url}/streams/stable.json?force=true`, {
        method: "PUT",
        body: STABLE_TEXT,
        headers: { authorization: `Bearer ${TOKEN}`, "if-match": res.headers.get("etag") as string },
      });
      assert.equal(put.status, 201, await put.clone().text());
      assert.equal(await (await fetch(`${server.url}/stream-stable.json`)).text(), STABLE_TEXT);
      assert.equal(await (await fetch(`${server.url}/stream-stable-20200110.json`)).text(), OLD_TEXT);
    } finally {
      await server.close();
    }
  });
});

describe("bootstream serve (process)", () => {
  it("prints its URL and, on SIGTERM, finishes an in-flight request before exiting 143", async () => {
    const root = tempDir("bootstream-serve-proc-");
    const store = new FsStore(root);
    await publishStream(store, OLD_TEXT);
    const { proc, url } = await startServe(root, {
      tokenFileText: `# publishers\n${TOKEN}\n`,
      logLevel: "info",
    });
    const page = await fetch(`${url}/streams/stable/`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    // A publish whose body is still arriving when SIGTERM comes must complete.
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const body = Buffer.from(STABLE_TEXT);
    let response = "";
    socket.on("data", (c: Buffer) => {
      response += c.toString();
    });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    // `Expect: 100-continue`: the server's "100 Continue" says the request is in flight there.
    socket.write(
      `PUT /streams/stable.json?force=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${body.byteLength}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    await waitFor(() => response.startsWith("HTTP/1.1 100 "), { timeoutMs: 10_000, what: "100 Continue" });
    socket.write(body.subarray(0, 1000));
    proc.child.kill("SIGTERM");
    await proc.waitFor(/shutting down/, 10_000);
    socket.write(body.subarray(1000));
    await closed;
    assert.match(response, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    const result = await proc.done;
    // Ended by SIGTERM after the graceful drain: 143 (issue 11 point 8), the in-flight publish completed.
    assert.equal(result.code, 143, result.stderr);
    assert.equal(new TextDecoder().decode((await store.get("streams/stable.json"))?.body), STABLE_TEXT);
    await assert.rejects(fetch(`${url}/healthz`), "no longer listening");
  });
});
