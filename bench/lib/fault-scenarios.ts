/**
 * The fault suite, shared by test/faults.test.ts (asserts every scenario has no failures)
 * and bench/faults.ts (prints one line): real `bootstream serve` replicas and publishers over
 * a private Ceph RGW cluster whose radosgw is paused, killed, or replaced by a port that
 * resets connections, and publishers SIGKILLed mid-publish.
 *
 * Each scenario returns the expectations it saw violated (an empty list means it survived)
 * and counts of what clients saw. Expectations, from issue 12:
 *   - every request is answered within the deadline (no hang, no connection error);
 *   - objects already read (pointer, pinned copies, history) keep answering 200 with the last
 *     verified bytes (same ETag); an object never seen answers 503 with Retry-After;
 *   - /livez 200; /readyz 200 "degraded" while the store is down and the cache serves, 503
 *     when nothing is cached; a publish after recovery becomes visible;
 *   - no publish that reported success is lost, no half-written object, fsck clean.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  publish,
  type Replica,
  runBootstream,
  STREAM_NAME,
  type StreamVersion,
  sha256,
  startReplica,
  streamVersions,
} from "./bootstream.ts";
import { type CephCluster, deadDaemons } from "./ceph.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import { type Answer, etagDigest, get, type Sample, startLoad } from "./http-load.ts";

/** Tight knobs so the whole suite stays well under a minute and a half. */
export const TIMING = {
  revalidateMs: 200,
  storeTimeoutSeconds: 1,
  /**
   * What a client allows for one answer: serve waits at most one store deadline per
   * request, plus scheduling slack on 2 busy cores.
   */
  deadlineMs: 2000,
  /** How long the store stays paused or dead. */
  outageMs: 3000,
  /** Each load client's pause between requests: steady load that leaves the 2 cores some air. */
  loadPauseMs: 5,
};

const SERVE_ARGS = [
  "--revalidate-ms",
  String(TIMING.revalidateMs),
  "--store-timeout",
  String(TIMING.storeTimeoutSeconds),
];
const POINTER = `/streams/${STREAM_NAME}.json`;
const HISTORY = `/streams/${STREAM_NAME}/history.json`;
const pinnedPath = (id: string) => `/streams/${STREAM_NAME}/${id}.json`;

export interface ScenarioReport {
  name: string;
  /** Violated expectations; empty when the scenario was survived. */
  failures: string[];
  /** Requests sent (load and probes), answered within the deadline, stale answers
   * (bootstream_stale_responses_total of the replicas), 503 answers. */
  requests: number;
  answered: number;
  stale: number;
  unavailable: number;
  /** Publishes that exited 0 but are missing from history.json. */
  publishesLost: number;
  /** Free-form figures for the report (publishes killed, ...). */
  notes: string[];
}

export interface FaultContext {
  cluster: CephCluster;
}

export type Scenario = (ctx: FaultContext) => Promise<ScenarioReport>;

/** Collects requests, failures and counts for one scenario. */
class Recorder {
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  requests = 0;
  answered = 0;
  unavailable = 0;
  stale = 0;
  publishesLost = 0;

  constructor(readonly name: string) {}

  expect(ok: boolean, message: string): boolean {
    if (!ok) this.failures.push(message);
    return ok;
  }

  /** A probe request outside the load: counted, and must be answered within the deadline. */
  async probe(url: string, headers: Record<string, string> = {}): Promise<Answer | undefined> {
    this.requests++;
    try {
      const answer = await get(url, { timeoutMs: TIMING.deadlineMs, headers });
      this.answered++;
      if (answer.status === 503) this.unavailable++;
      return answer;
    } catch (error) {
      this.failures.push(`${url}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Adds load samples to the counts; every one must have been answered within the deadline. */
  addSamples(samples: Sample[]): void {
    const late = samples.filter((s) => s.error !== undefined || s.end - s.start > TIMING.deadlineMs);
    this.requests += samples.length;
    this.answered += samples.length - late.length;
    this.unavailable += samples.filter((s) => s.status === 503).length;
    this.expect(
      late.length === 0,
      `${late.length} of ${samples.length} load requests not answered within ${TIMING.deadlineMs} ms, e.g. ${late
        .slice(0, 3)
        .map((s) => `${s.path} ${s.error ?? `${(s.end - s.start).toFixed(0)} ms`}`)
        .join("; ")}`,
    );
  }

  report(): ScenarioReport {
    return {
      name: this.name,
      failures: this.failures,
      requests: this.requests,
      answered: this.answered,
      stale: this.stale,
      unavailable: this.unavailable,
      publishesLost: this.publishesLost,
      notes: this.notes,
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Distinct last-modified ranges per scenario: each store's versions only move forward. */
let versionEpoch = Date.UTC(2026, 0, 1);
function newVersions(dir: string, count: number): StreamVersion[] {
  const versions = streamVersions(dir, count, versionEpoch);
  versionEpoch += 86_400_000;
  return versions;
}

async function publishOk(
  rec: Recorder,
  version: StreamVersion,
  store: string,
  env: Record<string, string>,
): Promise<string | undefined> {
  const result = await publish(version.file, store, env);
  rec.expect(
    result.code === 0 && result.id !== undefined,
    `publish exited ${result.code}: ${result.stderr.trim()}`,
  );
  return result.id;
}

/** Sum of bootstream_stale_responses_total over the replicas (0 when not exported). */
async function staleResponses(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    try {
      const text = (await get(`${url}/metrics`, { timeoutMs: TIMING.deadlineMs })).body.toString();
      for (const line of text.split("\n")) {
        const m = /^bootstream_stale_responses_total(?:\{[^}]*\})?\s+([\d.e+]+)/.exec(line);
        if (m) total += Number(m[1]);
      }
    } catch {
      /* a replica that is gone has nothing more to tell */
    }
  }
  return total;
}

/** What a replica must serve for each path it already read: path → sha256 of the bytes. */
type Verified = Map<string, string>;

/** GETs pointer, history and the pinned copies on every replica so they are "already read". */
async function warm(rec: Recorder, urls: string[], ids: string[]): Promise<Verified> {
  const verified: Verified = new Map();
  for (const path of [POINTER, HISTORY, ...ids.map(pinnedPath)]) {
    for (const url of urls) {
      const answer = await rec.probe(url + path);
      if (!rec.expect(answer?.status === 200, `warm-up ${path}: status ${answer?.status}`) || !answer)
        continue;
      const digest = sha256(answer.body);
      const before = verified.get(path);
      rec.expect(before === undefined || before === digest, `warm-up ${path}: replicas disagree`);
      verified.set(path, digest);
    }
  }
  return verified;
}

let unknownSeq = 0;
/** A pinned-copy path of the right shape that was never published. */
/**
 * A pinned id no publish made, new on every call: a date in 1999 and a suffix, both within
 * the id pattern (YYYYMMDD-N, N of at most 3 digits), for up to 336 000 calls.
 */
function neverSeenPath(): string {
  const seq = unknownSeq++;
  const month = String((Math.floor(seq / 28) % 12) + 1).padStart(2, "0");
  const day = String((seq % 28) + 1).padStart(2, "0");
  return pinnedPath(`1999${month}${day}-${Math.floor(seq / 336) + 2}`);
}

/** Load over the verified paths plus, for a tenth of the requests, objects never seen. */
function loadOn(urls: string[], verified: Verified, withUnknown: boolean) {
  const known = [...verified.keys()];
  return startLoad({
    replicas: urls,
    connections: 2,
    timeoutMs: TIMING.deadlineMs,
    pauseMs: TIMING.loadPauseMs,
    pick() {
      if (withUnknown && Math.random() < 0.1) return { path: neverSeenPath(), kind: "unknown" };
      const path = known[Math.floor(Math.random() * known.length)] as string;
      return { path, kind: path === POINTER ? "pointer" : path === HISTORY ? "history" : "pinned" };
    },
  });
}

/**
 * Checks answers given while nothing was published: verified paths answer 200 with exactly
 * the verified bytes (ETag naming them) or 304; objects never seen 404 (store up) or 503
 * with Retry-After (store down).
 */
function checkAgainstVerified(rec: Recorder, samples: Sample[], verified: Verified): void {
  const wrong: string[] = [];
  for (const s of samples) {
    if (s.error !== undefined) continue; // counted by addSamples
    if (s.kind === "unknown") {
      if (s.status === 503 && !s.retryAfter) wrong.push(`${s.path}: 503 without Retry-After`);
      else if (s.status !== 503 && s.status !== 404) wrong.push(`${s.path}: status ${s.status}`);
      continue;
    }
    const expected = verified.get(s.path);
    if (s.status === 304) {
      if (etagDigest(s.etag) !== expected) wrong.push(`${s.path}: 304 with ETag ${s.etag}`);
    } else if (s.status !== 200) wrong.push(`${s.path}: status ${s.status}`);
    else if (s.sha256 !== expected || etagDigest(s.etag) !== expected)
      wrong.push(`${s.path}: bytes ${s.sha256} / ETag ${s.etag}, last verified ${expected}`);
  }
  rec.expect(wrong.length === 0, `${wrong.length} wrong answers, e.g. ${wrong.slice(0, 3).join("; ")}`);
}

/** Probes during an outage: liveness, degraded readiness, 503 + Retry-After for the never seen. */
async function checkDuringOutage(rec: Recorder, urls: string[]): Promise<void> {
  for (const url of urls) {
    const live = await rec.probe(`${url}/livez`);
    rec.expect(live?.status === 200, `/livez while the store is down: ${live?.status}`);
    const unknown = await rec.probe(url + neverSeenPath());
    rec.expect(
      unknown?.status === 503 && typeof unknown.headers["retry-after"] === "string",
      `never-seen object while the store is down: status ${unknown?.status}, Retry-After ${unknown?.headers["retry-after"]}`,
    );
    // Readiness learns of the outage from a failed store call: give it a few deadlines.
    let ready: Answer | undefined;
    const until = performance.now() + 3 * TIMING.storeTimeoutSeconds * 1000 + 1000;
    do {
      ready = await rec.probe(`${url}/readyz`);
      if (ready && readyStatus(ready) === "degraded") break;
      await sleep(100);
    } while (performance.now() < until);
    rec.expect(
      ready?.status === 200 && readyStatus(ready) === "degraded",
      `/readyz while the store is down and the cache serves: ${ready?.status} ${ready?.body.toString().slice(0, 200)}`,
    );
  }
}

function readyStatus(answer: Answer): string | undefined {
  try {
    return (JSON.parse(answer.body.toString()) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

/** Polls every replica's pointer until it names `sha`; false after `timeoutMs`. */
async function allServe(urls: string[], sha: string, timeoutMs = 5000): Promise<boolean> {
  const agent = new Agent({ keepAlive: true });
  const until = performance.now() + timeoutMs;
  try {
    while (performance.now() < until) {
      const tags = await Promise.all(
        urls.map((url) =>
          get(url + POINTER, { agent, method: "HEAD", timeoutMs: TIMING.deadlineMs }).then(
            (a) => etagDigest(a.headers.etag as string | undefined),
            () => undefined,
          ),
        ),
      );
      if (tags.every((t) => t === sha)) return true;
      await sleep(20);
    }
    return false;
  } finally {
    agent.destroy();
  }
}

let scenarioSeq = 0;

/** Runs `body` with a fresh store, temp dir and replicas that are always stopped. */
async function withReplicas(
  rec: Recorder,
  ctx: FaultContext,
  body: (tools: {
    store: string;
    dir: string;
    replicas: Replica[];
    start(extra?: string[], store?: string): Promise<Replica>;
  }) => Promise<void>,
): Promise<ScenarioReport> {
  const dir = mkdtempSync(join(tmpdir(), "bootstream-faults-"));
  const replicas: Replica[] = [];
  const started = performance.now();
  try {
    const store = await ctx.cluster.storeAt(`scenario-${++scenarioSeq}`);
    await body({
      store,
      dir,
      replicas,
      async start(extra = [], other = store) {
        const replica = await startReplica(other, [...SERVE_ARGS, ...extra], ctx.cluster.env);
        replicas.push(replica);
        return replica;
      },
    });
  } catch (error) {
    rec.failures.push(`scenario aborted: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    // What the replicas logged (warnings and errors) explains a failure.
    if (rec.failures.length > 0)
      for (const [i, r] of replicas.entries())
        rec.notes.push(`replica ${i} log tail:\n${r.log().slice(-1500)}`);
    rec.notes.push(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    rmSync(dir, { recursive: true, force: true });
    const dead = deadDaemons(ctx.cluster);
    rec.expect(dead.length === 0, `Ceph daemons not running after the scenario: ${dead.join(", ")}`);
  }
  return rec.report();
}

/** (a) and (b): the store goes away under load, comes back, and a new publish shows. */
function storeOutage(name: string, kind: "pause" | "kill"): Scenario {
  return (ctx) => {
    const rec = new Recorder(name);
    return withReplicas(rec, ctx, async ({ store, dir, start }) => {
      const env = ctx.cluster.env;
      const versions = newVersions(dir, 3);
      const ids: string[] = [];
      for (const v of versions.slice(0, 2)) {
        const id = await publishOk(rec, v, store, env);
        if (id) ids.push(id);
      }
      const urls = [(await start()).url, (await start()).url];
      const verified = await warm(rec, urls, ids);
      const load = loadOn(urls, verified, true);
      let burst: ReturnType<typeof startLoad> | undefined;
      let samples: Sample[] = [];
      try {
        await sleep(500);
        if (kind === "pause") ctx.cluster.pauseRgw();
        else await ctx.cluster.killRgw();
        try {
          const outageEnds = performance.now() + TIMING.outageMs;
          await checkDuringOutage(rec, urls);
          await sleep(outageEnds - 300 - performance.now());
          // The moment the store comes back is where a store error is easiest to misjudge:
          // extra clients ask for objects never seen across it.
          burst = startLoad({
            replicas: urls,
            connections: 3,
            timeoutMs: TIMING.deadlineMs,
            pauseMs: 2,
            pick: () => ({ path: neverSeenPath(), kind: "unknown" }),
          });
          await sleep(300);
        } finally {
          if (kind === "pause") ctx.cluster.resumeRgw();
          else await ctx.cluster.restartRgw();
        }
        await sleep(500);
      } finally {
        samples = [...(await load.stop()), ...((await burst?.stop()) ?? [])];
      }
      rec.addSamples(samples);
      checkAgainstVerified(rec, samples, verified);
      rec.stale = await staleResponses(urls);
      rec.expect(rec.stale > 0, "bootstream_stale_responses_total did not count the stale answers");
      // Recovery: the next publish reaches every replica, and readiness is back to ok.
      const third = versions[2] as StreamVersion;
      if (await publishOk(rec, third, store, env))
        rec.expect(await allServe(urls, third.sha256), "a publish after the store came back never showed");
      for (const url of urls) {
        // The heartbeat (1 s) records the store's return on its own schedule: give it a few.
        let ready = await rec.probe(`${url}/readyz`);
        for (let i = 0; i < 50 && !(ready?.status === 200 && readyStatus(ready) === "ok"); i++) {
          await sleep(100);
          ready = await rec.probe(`${url}/readyz`);
        }
        rec.expect(
          ready?.status === 200 && readyStatus(ready) === "ok",
          `/readyz after recovery: ${ready?.status} ${ready?.body.toString().slice(0, 200)}`,
        );
      }
    });
  };
}

export const rgwPaused: Scenario = storeOutage("RGW paused (SIGSTOP) under load", "pause");
export const rgwKilled: Scenario = storeOutage("RGW killed (SIGKILL) and restarted", "kill");

/** How many objects the cache dir's index.json names (0 while it is not written). */
function indexedKeys(dir: string): number {
  return indexedNames(dir).length;
}

function indexedNames(dir: string): string[] {
  try {
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { objects?: object };
    return Object.keys(index.objects ?? {});
  } catch {
    return [];
  }
}

/** (c) The store is a port that accepts and resets: a replica with a cache serves it; without, it is not ready. */
export const resettingStore: Scenario = (ctx) => {
  const rec = new Recorder("store port resets connections");
  return withReplicas(rec, ctx, async ({ store, dir, start }) => {
    const env = ctx.cluster.env;
    const ids: string[] = [];
    for (const v of newVersions(dir, 2)) {
      const id = await publishOk(rec, v, store, env);
      if (id) ids.push(id);
    }
    // An earlier replica over the real store fills the cache dir, then goes away.
    const cacheDir = join(dir, "cache");
    const first = await start(["--cache-dir", cacheDir]);
    const verified = await warm(rec, [first.url], ids);
    // Written in the background, objects first, then index.json naming them (one key per path);
    // a loaded CI machine may take seconds to get there, so the deadline is generous.
    for (let i = 0; i < 300 && indexedKeys(cacheDir) < verified.size; i++) await sleep(50);
    rec.expect(
      indexedKeys(cacheDir) >= verified.size,
      `--cache-dir indexes ${indexedKeys(cacheDir)} objects (${indexedNames(cacheDir).join(", ")}), ${verified.size} were read (${[...verified.keys()].join(", ")})`,
    );
    await first.stop();

    const resetting = await startFaultProxy("reset");
    try {
      const cached = await start(["--cache-dir", cacheDir, "--s3-endpoint", resetting.url]);
      const load = loadOn([cached.url], verified, true);
      let samples: Sample[] = [];
      try {
        await checkDuringOutage(rec, [cached.url]);
        await sleep(1500);
      } finally {
        samples = await load.stop();
      }
      rec.addSamples(samples);
      checkAgainstVerified(rec, samples, verified);
      rec.expect(
        samples.some((s) => s.kind === "unknown" && s.status === 503),
        "no never-seen object was answered 503 under load",
      );
      rec.stale = await staleResponses([cached.url]);
      await cached.stop();

      // Nothing cached: it may refuse to start (a clear error, soon) or start and say it is not ready.
      const startedAt = performance.now();
      const bare = await start(["--s3-endpoint", resetting.url]).catch((error: Error) => error);
      if (bare instanceof Error) {
        rec.expect(
          performance.now() - startedAt < 15_000 && /exited [1-9]/.test(bare.message),
          `serve without a cache over a resetting store: ${bare.message.slice(0, 300)}`,
        );
        rec.notes.push("without a cache, serve refused to start");
      } else {
        const ready = await rec.probe(`${bare.url}/readyz`);
        rec.expect(
          ready?.status === 503,
          `/readyz with the store down and nothing cached: ${ready?.status} ${ready?.body.toString().slice(0, 200)}`,
        );
        const pointer = await rec.probe(bare.url + POINTER);
        rec.expect(
          pointer?.status === 503 && typeof pointer.headers["retry-after"] === "string",
          `pointer never read, store down: ${pointer?.status}`,
        );
      }
    } finally {
      await resetting.close();
    }

    // A replica that started over a healthy store and read nothing: the store starts resetting.
    const [host, port] = new URL(ctx.cluster.endpoint).host.split(":");
    const proxy = await startFaultProxy("forward", { host: host as string, port: Number(port) });
    try {
      const fresh = await start(["--s3-endpoint", proxy.url]);
      proxy.setMode("reset");
      let ready: Answer | undefined;
      const until = performance.now() + 3 * TIMING.storeTimeoutSeconds * 1000 + 1000;
      do {
        ready = await rec.probe(`${fresh.url}/readyz`);
        if (ready?.status === 503) break;
        await sleep(100);
      } while (performance.now() < until);
      rec.expect(
        ready?.status === 503 && readyStatus(ready) === "unavailable",
        `/readyz when the store resets and nothing was read: ${ready?.status} ${ready?.body.toString().slice(0, 200)}`,
      );
    } finally {
      await proxy.close();
    }
  });
};

/**
 * (d) Publishers SIGKILLed at random moments while 2 replicas serve under load: every answer
 * in time and one of the published versions, never going back; every publish that exited 0
 * in history; every pinned copy in history whole; fsck clean after a final publish.
 */
export const killedPublishers: Scenario = (ctx) => {
  const rec = new Recorder("publishers SIGKILLed at random points");
  const KILLS = 20;
  /** Upper bound of the loop: kill delays past a publish's end let it finish instead. */
  const MAX_PUBLISHES = 40;
  return withReplicas(rec, ctx, async ({ store, dir, start }) => {
    const env = ctx.cluster.env;
    const versions = newVersions(dir, MAX_PUBLISHES + 2);
    const order = new Map(versions.map((v, i) => [v.sha256, i]));
    const firstVersion = versions[0] as StreamVersion;
    const first = await publish(firstVersion.file, store, env);
    if (!rec.expect(first.code === 0 && first.id !== undefined, `first publish: ${first.stderr}`)) return;
    const succeeded: { id: string; sha256: string }[] = [
      { id: first.id as string, sha256: firstVersion.sha256 },
    ];

    const urls = [(await start()).url, (await start()).url];
    const load = startLoad({
      replicas: urls,
      connections: 2,
      timeoutMs: TIMING.deadlineMs,
      pauseMs: TIMING.loadPauseMs,
      pick() {
        const roll = Math.random();
        if (roll < 0.45) return { path: POINTER, kind: "pointer" };
        if (roll < 0.6) return { path: HISTORY, kind: "history" };
        const pick = succeeded[Math.floor(Math.random() * succeeded.length)] as { id: string };
        return { path: pinnedPath(pick.id), kind: "pinned" };
      },
    });
    let samples: Sample[] = [];
    let killed = 0;
    let attempts = 0;
    let next = 1;
    try {
      // Kill points spread over a whole publish (process start, validation, each store write):
      // uniform over 1.1x the duration of the last clean publish under this same load. A killed
      // publish is rerun, as a CI job would be (a rerun completes an interrupted publish), and
      // every fifth run is left to finish so the loop always moves on.
      let cleanMs = first.ms;
      let v = versions[next++] as StreamVersion;
      while (killed < KILLS && attempts < MAX_PUBLISHES) {
        const clean = attempts > 0 && attempts % 5 === 0;
        attempts++;
        const kill = clean ? {} : { killAfterMs: Math.random() * cleanMs * 1.1 };
        const result = await publish(v.file, store, env, kill);
        if (result.killed) {
          killed++;
          continue;
        }
        if (result.code === 0 && result.id) {
          succeeded.push({ id: result.id, sha256: v.sha256 });
          if (clean) cleanMs = result.ms;
        } else
          rec.failures.push(
            `publish ${attempts} failed without being killed (exit ${result.code}): ${result.stderr.trim()}`,
          );
        v = versions[next++] as StreamVersion;
      }
      // The last one killed is completed by its rerun before the final publish.
      if (!succeeded.some((s) => s.sha256 === v.sha256)) {
        const rerun = await publish(v.file, store, env);
        if (rec.expect(rerun.code === 0 && rerun.id !== undefined, `rerun: ${rerun.stderr.trim()}`))
          succeeded.push({ id: rerun.id as string, sha256: v.sha256 });
      }
      rec.expect(
        killed >= KILLS,
        `only ${killed} publishers were killed before finishing in ${attempts} publishes`,
      );
      const last = versions[next] as StreamVersion;
      const final = await publish(last.file, store, env);
      if (rec.expect(final.code === 0 && final.id !== undefined, `final publish: ${final.stderr.trim()}`)) {
        succeeded.push({ id: final.id as string, sha256: last.sha256 });
        rec.expect(await allServe(urls, last.sha256), "the final publish never showed on every replica");
      }
    } finally {
      samples = await load.stop();
    }
    rec.notes.push(`${killed} publishers SIGKILLed, ${succeeded.length} publishes succeeded`);
    rec.addSamples(samples);
    rec.stale = await staleResponses(urls);

    // Answers: statuses, bytes that match the ETag and were published, pinned copies exact.
    const pinnedDigest = new Map(succeeded.map((s) => [pinnedPath(s.id), s.sha256]));
    const wrong: string[] = [];
    for (const s of samples) {
      if (s.error !== undefined) continue;
      if (s.status === 304) continue;
      if (s.status !== 200) {
        wrong.push(`${s.path}: status ${s.status}`);
        continue;
      }
      if (etagDigest(s.etag) !== s.sha256) wrong.push(`${s.path}: ETag ${s.etag} does not name the bytes`);
      if (s.kind === "pointer" && !order.has(s.sha256 as string))
        wrong.push(`pointer: unpublished bytes ${s.sha256}`);
      if (s.kind === "pinned" && s.sha256 !== pinnedDigest.get(s.path)) wrong.push(`${s.path}: wrong bytes`);
    }
    rec.expect(wrong.length === 0, `${wrong.length} wrong answers, e.g. ${wrong.slice(0, 3).join("; ")}`);
    checkNeverBackwards(rec, samples, order);

    // The store itself: history holds every success; every pinned copy in it is whole.
    const historyBytes = await ctx.cluster.getObject(store, `streams/${STREAM_NAME}/history.json`);
    const history = JSON.parse(historyBytes?.toString() ?? '{"entries":[]}') as {
      entries: { id: string; sha256: string }[];
    };
    const listed = new Set(history.entries.map((e) => `${e.id} ${e.sha256}`));
    const lost = succeeded.filter((s) => !listed.has(`${s.id} ${s.sha256}`));
    rec.publishesLost = lost.length;
    rec.expect(
      lost.length === 0,
      `publishes that exited 0 missing from history: ${lost.map((s) => s.id).join(", ")}`,
    );
    for (const entry of history.entries) {
      const bytes = await ctx.cluster.getObject(store, `streams/${STREAM_NAME}/${entry.id}.json`);
      rec.expect(
        bytes !== undefined && sha256(bytes) === entry.sha256,
        `pinned copy ${entry.id} in history is ${bytes ? "not the bytes history names" : "missing"}`,
      );
    }
    const pointer = await ctx.cluster.getObject(store, `streams/${STREAM_NAME}.json`);
    rec.expect(
      pointer !== undefined && sha256(pointer) === (versions[next] as StreamVersion).sha256,
      "the pointer in the store is not the final publish",
    );
    const fsck = await runBootstream(["fsck", "--store", store], env);
    rec.expect(
      fsck.code === 0,
      `fsck after the final publish exited ${fsck.code}: ${fsck.stdout}${fsck.stderr}`,
    );
  });
};

/**
 * Stale answers are the last verified bytes, never older ones: on each replica, a pointer
 * request sent after another one was answered never gets an older version than that one.
 */
function checkNeverBackwards(rec: Recorder, samples: Sample[], order: Map<string, number>): void {
  const pointer = samples.filter((s) => s.kind === "pointer" && s.status === 200 && s.sha256 !== undefined);
  let regressions = 0;
  let example = "";
  for (const replica of new Set(pointer.map((s) => s.replica))) {
    const answers = pointer.filter((s) => s.replica === replica).sort((a, b) => a.end - b.end);
    const byStart = [...answers].sort((a, b) => a.start - b.start);
    let newestEnded = -1;
    let j = 0;
    for (const s of byStart) {
      while (j < answers.length && (answers[j] as Sample).end < s.start)
        newestEnded = Math.max(newestEnded, order.get((answers[j++] as Sample).sha256 as string) ?? -1);
      const version = order.get(s.sha256 as string) ?? -1;
      if (version < newestEnded) {
        regressions++;
        example ||= `replica ${replica} served version ${version} after it had served ${newestEnded}`;
      }
    }
  }
  rec.expect(regressions === 0, `${regressions} pointer answers went back to an older version: ${example}`);
}

export const SCENARIOS: { key: string; run: Scenario }[] = [
  { key: "rgw-paused", run: rgwPaused },
  { key: "rgw-killed", run: rgwKilled },
  { key: "resetting-store", run: resettingStore },
  { key: "killed-publishers", run: killedPublishers },
];

/** The one line bench/faults.ts prints. */
export function summaryLine(reports: ScenarioReport[]): string {
  const sum = (f: (r: ScenarioReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const survived = reports.filter((r) => r.failures.length === 0).length;
  return (
    `faults survived ${survived}/${reports.length}; requests answered ${sum((r) => r.answered)} of ${sum((r) => r.requests)} ` +
    `(stale ${sum((r) => r.stale)}, 503 ${sum((r) => r.unavailable)}); publishes lost ${sum((r) => r.publishesLost)}`
  );
}
