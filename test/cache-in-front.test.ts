/**
 * Issue 12 point 4: the shipped examples/nginx-cache.conf, run by real nginx in front of two
 * real `bootstream serve` replicas over one directory store, behaves as a CDN should: pinned
 * copies come from the cache, the pointer is revalidated with a conditional request once its
 * max-age is over (the origin answers 304), a publish passes through, and with both replicas
 * stopped the cache keeps serving what it holds while an object never fetched fails fast.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingHttpHeaders, request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { publishStream } from "../src/publish/publish.ts";
import { FsStore } from "../src/storage/index.ts";
import type { RunningBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { type RunningNginx, startCacheProxy } from "./helpers/nginx.ts";
import { serveProcess } from "./helpers/serve-process.ts";
import { elapse, waitFor } from "./helpers/wait.ts";

const OLD_TEXT = fixtureText("fcos-stable-stream-2020.json"); // pinned as 20200110
const STABLE_TEXT = fixtureText("fcos-stable-stream.json"); // pinned as 20260721, the pointer
const TOKEN = "cache-in-front-publish-token";
/** The origin's --pointer-max-age: short, so expiry and revalidation happen within the test. */
const MAX_AGE_S = 1;
/** Past max-age and the origin's stale-while-revalidate window (= max-age), with a margin for
 * nginx's whole-second clock. */
const PAST_STALE_WINDOW_MS = (2 * MAX_AGE_S + 1.2) * 1000;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

/** One request with exactly the headers given (fetch would add Accept-Encoding); 10 s cap. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: Date.now() - started,
        }),
      );
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s (a hang)`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Polls `check` for up to 3 s: an origin writes its log line just after its answer leaves, and
 * the test reads the log it has already captured (no event says "this line is next").
 */
async function eventually(check: () => boolean, message: () => string): Promise<void> {
  await waitFor(check, { timeoutMs: 3000, intervalMs: 20 }).catch(() => assert.fail(message()));
}

interface Replica {
  proc: RunningBootstream;
  url: string;
  hostPort: string;
}

async function startReplica(store: string, tokenFile: string, track: RunningBootstream[]): Promise<Replica> {
  const { proc, url } = await serveProcess([
    "--store",
    store,
    "--token-file",
    tokenFile,
    "--pointer-max-age",
    String(MAX_AGE_S),
  ]);
  track.push(proc);
  return { proc, url, hostPort: new URL(url).host };
}

interface OriginRequest {
  method: string;
  url: string;
  status: number;
}

/** The request lines of an origin's JSON log (--log-level info, one object per line). */
function originRequests(replica: Replica): OriginRequest[] {
  return replica.proc
    .output()
    .stderr.split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === "request")
    .map((entry) => ({ method: String(entry.method), url: String(entry.url), status: Number(entry.status) }));
}

describe("nginx (examples/nginx-cache.conf) caching in front of two serve replicas", () => {
  const procs: RunningBootstream[] = [];
  let replicas: [Replica, Replica];
  let nginx: RunningNginx | undefined;
  const scratch = [tempDir("bootstream-cache-front-"), tempDir()];
  const allOriginRequests = () => replicas.flatMap(originRequests);
  /** Context for a failing assertion: what nginx and the origins saw. */
  const logs = () =>
    `\nnginx access log:\n${nginx?.accessLog() ?? ""}\norigin requests:\n${allOriginRequests()
      .map((r) => `${r.method} ${r.url} ${r.status}`)
      .join("\n")}`;
  const viaCache = (path: string, options: Parameters<typeof send>[1] = {}) =>
    send(`${nginx?.url}${path}`, options);

  before(async () => {
    const root = join(scratch[0] as string, "store");
    mkdirSync(root);
    const store = new FsStore(root);
    await publishStream(store, OLD_TEXT);
    await publishStream(store, STABLE_TEXT, { force: true });
    const tokenFile = join(scratch[1] as string, "tokens");
    writeFileSync(tokenFile, `${TOKEN}\n`);
    replicas = [await startReplica(root, tokenFile, procs), await startReplica(root, tokenFile, procs)];
    nginx = await startCacheProxy([replicas[0].hostPort, replicas[1].hostPort]);
  });

  after(async () => {
    await nginx?.stop();
    for (const proc of procs) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.done));
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it("serves a pinned copy from the cache on the second request, bytes identical", async () => {
    const path = "/streams/stable/20200110.json";
    const first = await viaCache(path);
    assert.equal(first.status, 200, logs());
    assert.equal(first.headers["x-cache-status"], "MISS");
    assert.equal(first.headers["cache-control"], "public, max-age=31536000, immutable");
    const second = await viaCache(path);
    assert.equal(second.status, 200);
    assert.equal(second.headers["x-cache-status"], "HIT", logs());
    assert.equal(second.body.toString(), OLD_TEXT);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.etag, first.headers.etag);
    const direct = await send(`${replicas[0].url}${path}`);
    assert.deepEqual(second.body, direct.body, "the cache serves the origin's bytes");
    const fromOrigin = () => allOriginRequests().filter((r) => r.url === path).length;
    await eventually(
      () => fromOrigin() === 2,
      () => `one request through the cache, one direct${logs()}`,
    );
  });

  it("passes the origin's gzip through and keeps one cached copy per encoding (Vary)", async () => {
    const path = "/streams/stable/20200110.json";
    const gzip = await viaCache(path, { headers: { "accept-encoding": "gzip" } });
    assert.equal(gzip.status, 200);
    assert.equal(gzip.headers["content-encoding"], "gzip");
    assert.equal(gzip.headers["x-cache-status"], "MISS", "another variant than the identity one");
    assert.match(gzip.headers.etag ?? "", /-gzip"$/, "the origin's strong ETag for the encoding, untouched");
    assert.equal(gunzipSync(gzip.body).toString(), OLD_TEXT);
    const gzipAgain = await viaCache(path, { headers: { "accept-encoding": "gzip" } });
    assert.equal(gzipAgain.headers["x-cache-status"], "HIT");
    assert.deepEqual(gzipAgain.body, gzip.body);
    const identity = await viaCache(path);
    assert.equal(identity.headers["x-cache-status"], "HIT");
    assert.equal(identity.headers["content-encoding"], undefined);
    assert.equal(identity.body.toString(), OLD_TEXT);
  });

  it("revalidates the pointer after max-age with a conditional request the origin answers 304", async () => {
    const path = "/streams/stable.json";
    const first = await viaCache(path);
    assert.equal(first.status, 200);
    assert.equal(first.headers["x-cache-status"], "MISS");
    assert.equal(
      first.headers["cache-control"],
      `public, max-age=${MAX_AGE_S}, stale-while-revalidate=${MAX_AGE_S}, stale-if-error=86400`,
    );
    assert.equal((await viaCache(path)).headers["x-cache-status"], "HIT");
    const before304 = allOriginRequests().filter((r) => r.url === path && r.status === 304).length;
    // Time passing is the behaviour under test: the cached copy ages past max-age and the stale window.
    await elapse(PAST_STALE_WINDOW_MS);
    const later = await viaCache(path);
    assert.equal(later.status, 200);
    assert.equal(later.headers["x-cache-status"], "REVALIDATED", logs());
    assert.equal(later.body.toString(), STABLE_TEXT);
    assert.equal(later.headers.etag, first.headers.etag);
    const pointerRequests = () => allOriginRequests().filter((r) => r.url === path);
    await eventually(
      () => pointerRequests().filter((r) => r.status === 304).length === before304 + 1,
      () => `the origin answered the revalidation with 304${logs()}`,
    );
    assert.equal(pointerRequests().filter((r) => r.status === 200).length, 1, "the body was fetched once");
    assert.equal((await viaCache(path)).headers["x-cache-status"], "HIT", "fresh again after the 304");
  });

  it("passes a publish (PUT with a token) through to the origin, uncached", async () => {
    const next = fixtureJson<Record<string, Record<string, unknown>>>("fcos-stable-stream.json");
    (next.metadata as Record<string, unknown>)["last-modified"] = "2026-07-22T00:00:00Z";
    const text = `${JSON.stringify(next, null, 4)}\n`;
    const refused = await viaCache("/streams/stable.json", { method: "PUT", body: text });
    assert.equal(refused.status, 401, "the origin's answer, not the cache's");
    assert.equal(refused.headers["www-authenticate"], 'Bearer realm="bootstream"');
    const published = await viaCache("/streams/stable.json", {
      method: "PUT",
      body: text,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    assert.equal(published.status, 201, `${published.body.toString()}${logs()}`);
    assert.equal(published.headers.location, "/streams/stable/20260722.json");
    assert.equal(published.headers["x-cache-status"], undefined, "the publish API is not cached");
    const puts = () =>
      allOriginRequests()
        .filter((r) => r.method === "PUT" && r.url === "/streams/stable.json")
        .map((r) => r.status)
        .sort()
        .join(" ");
    await eventually(
      () => puts() === "201 401",
      () => `both PUTs reached the origin (got ${puts()})${logs()}`,
    );
    const pinned = await viaCache("/streams/stable/20260722.json");
    assert.equal(pinned.status, 200);
    assert.equal(pinned.body.toString(), text);
    // Clients of the cache see the new pointer once the cached one is past its stale window.
    // Time passing is the behaviour under test (nginx expires by its clock; there is no event).
    await elapse(PAST_STALE_WINDOW_MS);
    const pointer = await viaCache("/streams/stable.json");
    assert.equal(pointer.headers["x-cache-status"], "EXPIRED", logs());
    assert.equal(pointer.body.toString(), text);
  });

  it("does not expose /metrics (the replicas are scraped directly)", async () => {
    const hidden = await viaCache("/metrics");
    assert.equal(hidden.status, 403);
    assert.equal((await send(`${replicas[0].url}/metrics`)).status, 200);
  });

  it("fails over to the other replica when one is stopped", async () => {
    replicas[0].proc.child.kill("SIGTERM");
    assert.equal((await replicas[0].proc.done).code, 143);
    const path = "/streams/stable/20260721.json";
    const answer = await viaCache(path);
    assert.equal(answer.status, 200, logs());
    assert.equal(answer.body.toString(), STABLE_TEXT);
    await eventually(
      () => originRequests(replicas[1]).some((r) => r.url === path && r.status === 200),
      () => `the live replica answered${logs()}`,
    );
  });

  it("keeps serving pointer, history and pinned copies with both replicas stopped; an object never fetched fails fast", async () => {
    const pointerBefore = await viaCache("/streams/stable.json");
    const historyBefore = await viaCache("/streams/stable/history.json");
    assert.equal(historyBefore.status, 200);
    replicas[1].proc.child.kill("SIGTERM");
    assert.equal((await replicas[1].proc.done).code, 143);
    // Past max-age and stale-while-revalidate: only stale-if-error can answer now.
    // Time passing is the behaviour under test: the copy must be too old for anything but stale-if-error.
    await elapse(PAST_STALE_WINDOW_MS);
    const pointer = await viaCache("/streams/stable.json");
    assert.equal(pointer.status, 200, logs());
    assert.equal(pointer.headers["x-cache-status"], "STALE");
    assert.deepEqual(pointer.body, pointerBefore.body, "the last bytes the cache verified");
    const history = await viaCache("/streams/stable/history.json");
    assert.equal(history.status, 200);
    assert.equal(history.headers["x-cache-status"], "STALE");
    assert.deepEqual(history.body, historyBefore.body);
    for (const path of ["/streams/stable/20200110.json", "/streams/stable/20260722.json"]) {
      const pinned = await viaCache(path);
      assert.equal(pinned.status, 200, path);
      assert.equal(pinned.headers["x-cache-status"], "HIT", `${path} is immutable and still fresh`);
    }
    const never = await viaCache("/stream-stable-20260722.json");
    assert.ok(never.status >= 500, `an object never fetched is an error (got ${never.status})`);
    assert.equal(never.status, 502);
    assert.ok(never.ms < 3000, `answered in ${never.ms} ms, not a hang`);
  });
});
