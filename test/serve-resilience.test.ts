/**
 * serve keeps answering with what it last verified when its store fails: real `bootstream
 * serve` processes over a directory store that goes away, over a real S3 bucket (Ceph RGW),
 * and over an S3 endpoint that accepts connections and never answers (a paused store looks
 * like that). The shared RGW is never paused here; test/faults.test.ts does that to its own.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningBootstream, runBootstream } from "./helpers/cli.ts";
import { fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";
import {
  metricValue,
  serveProcess,
  stopProcess,
  type TimedAnswer,
  timedGet,
} from "./helpers/serve-process.ts";
import { waitFor } from "./helpers/wait.ts";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const OLD = fixtureText("fcos-stable-stream-2020.json");

/** A TCP port that accepts connections and never answers: what a paused store looks like. */
async function blackHole(): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("serve over a directory store that goes away", () => {
  let parent: string;
  let store: string;
  let cacheDir: string;
  let url: string;
  let proc: RunningBootstream;
  const seen: Record<string, TimedAnswer> = {};

  before(async () => {
    parent = tempDir("bootstream-resilience-");
    store = join(parent, "store");
    cacheDir = join(parent, "cache");
    const published = await runBootstream([
      "publish",
      fixturePath("fcos-stable-stream-2020.json"),
      "--store",
      store,
    ]);
    assert.equal(published.code, 0, published.stderr);
    ({ proc, url } = await serveProcess([
      "--store",
      store,
      "--cache-dir",
      cacheDir,
      "--revalidate-ms",
      "100",
      "--store-timeout",
      "1",
    ]));
    for (const path of [
      "/streams/stable.json",
      "/streams/stable/20200110.json",
      "/streams/stable/history.json",
    ]) {
      seen[path] = await timedGet(`${url}${path}`);
      assert.equal(seen[path]?.status, 200, path);
    }
    assert.equal((await timedGet(`${url}/readyz`)).status, 200);
    renameSync(store, `${store}.away`);
    // The heartbeat notices; polled, as /readyz is the only place that says so.
    await waitFor(async () => JSON.parse((await timedGet(`${url}/readyz`)).body).status === "degraded", {
      timeoutMs: 5000,
      intervalMs: 50,
      what: "/readyz to say degraded",
    });
  });

  it("keeps serving every object it verified, same bytes and ETag, and says it is degraded", async () => {
    for (const [path, before] of Object.entries(seen)) {
      const now = await timedGet(`${url}${path}`);
      assert.equal(now.status, 200, path);
      assert.equal(now.etag, before.etag, path);
      assert.equal(now.body, before.body, path);
      assert.ok(now.ms < 1500, `${path} took ${now.ms} ms`);
    }
    const conditional = await timedGet(`${url}/streams/stable.json`, {
      "if-none-match": seen["/streams/stable.json"]?.etag ?? "",
    });
    assert.equal(conditional.status, 304);
    const live = await timedGet(`${url}/livez`);
    assert.equal(live.status, 200);
    const ready = await timedGet(`${url}/readyz`);
    assert.equal(ready.status, 200);
    const report = JSON.parse(ready.body);
    assert.equal(report.status, "degraded");
    assert.equal(report.store, "unavailable");
    assert.ok(report.cached.objects >= 3);
    assert.equal((await timedGet(`${url}/healthz`)).body, ready.body);
  });

  it("answers an object it never saw 503 with Retry-After, within the deadline", async () => {
    const never = await timedGet(`${url}/streams/next.json`);
    assert.equal(never.status, 503, never.body);
    assert.equal(never.headers.get("retry-after"), "5");
    assert.equal(JSON.parse(never.body).error.code, "UNAVAILABLE");
    assert.ok(never.ms < 2500, `took ${never.ms} ms`);
  });

  it("counts what happened in /metrics", async () => {
    const text = (await timedGet(`${url}/metrics`)).body;
    assert.ok(metricValue(text, 'bootstream_stale_responses_total{route="pointer"}') >= 1, text);
    assert.ok(metricValue(text, 'bootstream_store_errors_total{kind="io"}') >= 1, text);
    assert.ok(metricValue(text, "bootstream_cached_objects") >= 3);
    assert.ok(metricValue(text, "bootstream_cached_bytes") > OLD.length);
    assert.equal(metricValue(text, "bootstream_store_up"), 0);
    assert.match(text, /bootstream_store_request_duration_seconds_bucket\{op="check",le="\+Inf"\} \d+/);
  });

  it("a replica restarted while the store is down serves from --cache-dir, sha256-checked", async () => {
    await stopProcess(proc);
    const restarted = await serveProcess(["--store", store, "--cache-dir", cacheDir, "--store-timeout", "1"]);
    for (const [path, before] of Object.entries(seen)) {
      const now = await timedGet(`${restarted.url}${path}`);
      assert.equal(now.status, 200, path);
      assert.equal(now.etag, before.etag, path);
      assert.equal(now.body, before.body, path);
    }
    assert.equal(JSON.parse((await timedGet(`${restarted.url}/readyz`)).body).status, "degraded");
    await stopProcess(restarted.proc);
    assert.match(restarted.proc.output().stderr, /store unavailable at start; serving the cache directory/);

    // A damaged cache file is dropped, never served; without the store that object is 503.
    const objects = join(cacheDir, "objects");
    const index = JSON.parse(readFileSync(join(cacheDir, "index.json"), "utf8"));
    const historySha = index.objects["streams/stable/history.json"].sha256 as string;
    assert.ok(readdirSync(objects).includes(historySha));
    writeFileSync(join(objects, historySha), '{"stream":"stable","entries":[]}\n');
    const third = await serveProcess(["--store", store, "--cache-dir", cacheDir, "--store-timeout", "1"]);
    assert.equal((await timedGet(`${third.url}/streams/stable.json`)).status, 200);
    assert.equal((await timedGet(`${third.url}/streams/stable/history.json`)).status, 503);
    await third.proc.waitFor(/cache directory entry dropped.*does not hash to its name/);
    await stopProcess(third.proc);
  });

  it("without a cache, a store missing at start is still an error (exit 2)", async () => {
    const run = await runBootstream(["serve", "--store", store, "--port", "0"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /does not exist/);
  });
});

describe("serve over a store that is back, damaged, or changed", () => {
  it("serves a new pointer after the store returns, and keeps the verified one when the new bytes are damaged", async () => {
    const parent = tempDir("bootstream-resilience-");
    const store = join(parent, "store");
    assert.equal(
      (await runBootstream(["publish", fixturePath("fcos-stable-stream-2020.json"), "--store", store])).code,
      0,
    );
    const { proc, url } = await serveProcess(["--store", store, "--revalidate-ms", "100"]);
    const first = await timedGet(`${url}/streams/stable.json`);
    // Someone writes garbage over the pointer: it is not served, the verified one is.
    writeFileSync(join(store, "streams/stable.json"), '{"stream": "stable", "broken": ');
    // Polled until the server has revalidated and counted the damage (a request drives revalidation).
    await waitFor(
      async () => {
        await timedGet(`${url}/streams/stable.json`);
        const metrics = (await timedGet(`${url}/metrics`)).body;
        return metricValue(metrics, 'bootstream_damaged_objects_total{kind="pointer"}') >= 1;
      },
      { timeoutMs: 5000, intervalMs: 50, what: "the damaged pointer to be counted" },
    );
    const during = await timedGet(`${url}/streams/stable.json`);
    assert.equal(during.status, 200);
    assert.equal(during.etag, first.etag);
    // A damaged history is logged and counted, never silently skipped.
    const history = readFileSync(join(store, "streams/stable/history.json"));
    writeFileSync(join(store, "streams/stable/history.json"), "not json");
    await waitFor(
      async () => {
        await timedGet(`${url}/streams/stable/history.json`);
        const metrics = (await timedGet(`${url}/metrics`)).body;
        return metricValue(metrics, 'bootstream_damaged_objects_total{kind="history"}') >= 1;
      },
      { timeoutMs: 5000, intervalMs: 50, what: "the damaged history to be counted" },
    );
    const metrics = (await timedGet(`${url}/metrics`)).body;
    assert.ok(metricValue(metrics, 'bootstream_damaged_objects_total{kind="pointer"}') >= 1, metrics);
    assert.ok(metricValue(metrics, 'bootstream_damaged_objects_total{kind="history"}') >= 1, metrics);
    await proc.waitFor(/damaged object in the store, not served.*history\.json/);
    // A good publish replaces both (publish itself refuses to build on a damaged history).
    writeFileSync(join(store, "streams/stable/history.json"), history);
    const published = await runBootstream([
      "publish",
      fixturePath("fcos-stable-stream.json"),
      "--store",
      store,
      "--force",
    ]);
    assert.equal(published.code, 0, published.stderr);
    // The first answer after a failed revalidation may still be the verified copy (it
    // does not wait on the store); the new pointer follows within a revalidation or two.
    const wanted = `"${sha(readFileSync(join(store, "streams/stable.json")))}"`;
    assert.notEqual(wanted, first.etag);
    await waitFor(async () => (await timedGet(`${url}/streams/stable.json`)).etag === wanted, {
      timeoutMs: 2000,
      intervalMs: 50,
      what: `the new pointer ${wanted} served`,
    });
    await stopProcess(proc);
  });
});

describe("serve over an S3 endpoint that never answers", () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let bucket: string;
  let cacheDir: string;
  let seenPointer: TimedAnswer;

  before(async () => {
    hole = await blackHole();
    bucket = await freshBucket();
    cacheDir = join(tempDir("bootstream-resilience-"), "cache");
    const published = await runBootstream([
      "publish",
      fixturePath("fcos-stable-stream-2020.json"),
      "--store",
      bucket,
    ]);
    assert.equal(published.code, 0, published.stderr);
    // A replica over the real bucket fills the cache directory.
    const { proc, url } = await serveProcess(["--store", bucket, "--cache-dir", cacheDir]);
    seenPointer = await timedGet(`${url}/streams/stable.json`);
    assert.equal(seenPointer.status, 200);
    assert.equal((await timedGet(`${url}/streams/stable/20200110.json`)).status, 200);
    await stopProcess(proc);
  });
  after(() => hole.close());

  it("starts from the cache, answers cached objects at once and unknown ones 503 within --store-timeout", async () => {
    s3Endpoint();
    const { proc, url } = await serveProcess(
      ["--store", bucket, "--cache-dir", cacheDir, "--store-timeout", "1"],
      {
        env: { AWS_ENDPOINT_URL: hole.url },
      },
    );
    // The unknown key's store call hangs until its deadline; the cached keys do not wait behind it.
    const unknown = timedGet(`${url}/streams/other.json`);
    const started = performance.now();
    const [pointer, pinned] = await Promise.all([
      timedGet(`${url}/streams/stable.json`),
      timedGet(`${url}/streams/stable/20200110.json`),
    ]);
    assert.equal(pointer.status, 200);
    assert.equal(pointer.etag, seenPointer.etag);
    assert.equal(pointer.body, seenPointer.body);
    assert.equal(pinned.status, 200);
    const cachedMs = performance.now() - started;
    const slow = await unknown;
    assert.equal(slow.status, 503, slow.body);
    assert.ok(slow.ms < 2500, `unknown took ${slow.ms} ms`);
    assert.ok(cachedMs < 1000, `cached objects took ${cachedMs} ms while another key waited on the store`);
    const ready = await timedGet(`${url}/readyz`);
    assert.ok(ready.ms < 500, `readyz took ${ready.ms} ms`);
    assert.equal(JSON.parse(ready.body).status, "degraded");
    const metrics = (await timedGet(`${url}/metrics`)).body;
    assert.ok(metricValue(metrics, 'bootstream_store_errors_total{kind="timeout"}') >= 1, metrics);
    await stopProcess(proc);
  });

  it("without a cache, it refuses to start against a store that never answers (exit 2, within the deadline)", async () => {
    const started = performance.now();
    const run = await runBootstream(["serve", "--store", bucket, "--port", "0", "--store-timeout", "1"], {
      env: { AWS_ENDPOINT_URL: hole.url },
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /did not answer a check within 1 s/);
    assert.ok(performance.now() - started < 10_000);
  });
});
