/**
 * Scale-out over one S3 store: 3 `bootstream serve` replicas (default --revalidate-ms) over
 * a private Ceph RGW cluster, under keep-alive load (pointer, pinned copies, history), while
 * `bootstream publish` publishes new versions one after another. For each publish, the time
 * from the publisher's successful exit until EVERY replica serves the new pointer (each polled
 * every 10 ms, ETag compared with the published sha256).
 * Targets: 0 failed requests (non-2xx/304, error, or no answer within 2 s); propagation max
 * and p99 < 1 s; every pinned copy byte-identical on all replicas and equal to history.
 *
 *   npm run bench:replicas [-- --publishes 12 --replicas 3 --connections 2]
 * Needs Ceph (scripts/s3-up.sh installs it from Debian). Exit 1 when a target is missed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  publish,
  type Replica,
  STREAM_NAME,
  sha256,
  startReplica,
  streamVersions,
} from "./lib/bootstream.ts";
import { deadDaemons, startCephCluster } from "./lib/ceph.ts";
import { etagDigest, get, percentile, type Sample, startLoad } from "./lib/http-load.ts";

const { values } = parseArgs({
  options: {
    publishes: { type: "string", default: "12" },
    replicas: { type: "string", default: "3" },
    connections: { type: "string", default: "2" },
  },
});
const PUBLISHES = Number(values.publishes);
const REPLICAS = Number(values.replicas);
const CONNECTIONS = Number(values.connections);
const REQUEST_DEADLINE_MS = 2000;
const PROPAGATION_TARGET_MS = 1000;
const POINTER = `/streams/${STREAM_NAME}.json`;
const HISTORY = `/streams/${STREAM_NAME}/history.json`;
const pinnedPath = (id: string) => `/streams/${STREAM_NAME}/${id}.json`;

const work = mkdtempSync(join(tmpdir(), "bootstream-bench-replicas-"));
const cluster = await startCephCluster();
const replicas: Replica[] = [];
let cleanedUp = false;
async function cleanUp(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  await Promise.all(replicas.map((r) => r.stop()));
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void cleanUp().then(() => process.exit(130)));

/** Polls every replica's pointer every 10 ms; resolves with the time each first served `sha`. */
async function whenAllServe(
  urls: string[],
  sha: string,
  agent: Agent,
  timeoutMs = 10_000,
): Promise<number[]> {
  const seenAt: (number | undefined)[] = urls.map(() => undefined);
  const deadline = performance.now() + timeoutMs;
  while (seenAt.some((t) => t === undefined)) {
    if (performance.now() > deadline)
      throw new Error(`not every replica served ${sha} within ${timeoutMs} ms`);
    await Promise.all(
      urls.map(async (url, i) => {
        if (seenAt[i] !== undefined) return;
        try {
          const answer = await get(url + POINTER, { agent, method: "HEAD", timeoutMs: REQUEST_DEADLINE_MS });
          if (etagDigest(answer.headers.etag as string | undefined) === sha) seenAt[i] = performance.now();
        } catch {
          /* counted by the load's own requests; keep polling */
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  return seenAt as number[];
}

let exitCode = 0;
try {
  const store = await cluster.freshStore();
  const versions = streamVersions(work, PUBLISHES + 1);
  const first = await publish(versions[0]!.file, store, cluster.env);
  if (first.code !== 0 || !first.id) throw new Error(`first publish failed: ${first.stderr}`);
  const pinnedIds = [first.id];

  for (let i = 0; i < REPLICAS; i++) replicas.push(await startReplica(store, [], cluster.env));
  const urls = replicas.map((r) => r.url);

  const load = startLoad({
    replicas: urls,
    connections: CONNECTIONS,
    timeoutMs: REQUEST_DEADLINE_MS,
    pick() {
      const roll = Math.random();
      if (roll < 0.4) return { path: POINTER, kind: "pointer" };
      if (roll < 0.6) return { path: HISTORY, kind: "history" };
      const id = pinnedIds[Math.floor(Math.random() * pinnedIds.length)] as string;
      return { path: pinnedPath(id), kind: "pinned" };
    },
  });
  const pollAgent = new Agent({ keepAlive: true, maxSockets: REPLICAS });
  const lags: number[] = [];
  const problems: string[] = [];
  const loadStarted = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 1; i <= PUBLISHES; i++) {
    const version = versions[i]!;
    const result = await publish(version.file, store, cluster.env);
    if (result.code !== 0 || !result.id) {
      problems.push(`publish ${i} exited ${result.code}: ${result.stderr.trim()}`);
      continue;
    }
    pinnedIds.push(result.id);
    const seenAt = await whenAllServe(urls, version.sha256, pollAgent);
    lags.push(Math.max(...seenAt) - result.endedAt);
  }
  const samples = await load.stop();
  const seconds = (performance.now() - loadStarted) / 1000;
  pollAgent.destroy();

  const failed = samples.filter(
    (s: Sample) =>
      s.error !== undefined ||
      (s.status !== 200 && s.status !== 304) ||
      (s.status === 200 && etagDigest(s.etag) !== s.sha256),
  );
  for (const s of failed.slice(0, 5))
    problems.push(`replica ${s.replica} ${s.path}: ${s.error ?? `status ${s.status}, etag ${s.etag}`}`);

  // Every pinned copy in history, from every replica, byte for byte (and equal to history's digest).
  // History is revalidated on its own schedule: give it the same second the pointer gets.
  type History = { entries: { id: string; sha256: string }[] };
  let history: History = { entries: [] };
  for (let i = 0; i < 100 && history.entries.length < pinnedIds.length; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 20));
    history = JSON.parse((await get(urls[0] + HISTORY)).body.toString()) as History;
  }
  let identical = 0;
  for (const entry of history.entries) {
    const digests = await Promise.all(
      urls.map(async (url) => {
        const answer = await get(url + pinnedPath(entry.id));
        return answer.status === 200 ? sha256(answer.body) : `status ${answer.status}`;
      }),
    );
    if (digests.every((d) => d === entry.sha256)) identical++;
    else
      problems.push(`pinned ${entry.id}: replicas serve ${digests.join(", ")}, history says ${entry.sha256}`);
  }
  if (history.entries.length !== PUBLISHES + 1)
    problems.push(`history lists ${history.entries.length} versions, ${PUBLISHES + 1} were published`);

  const maxLag = Math.max(...lags);
  const p99Lag = percentile(lags, 99);
  const dead = deadDaemons(cluster);
  if (dead.length > 0) problems.push(`Ceph daemons died: ${dead.join(", ")}`);
  console.log(
    `propagation per publish (ms): ${lags.map((l) => l.toFixed(0)).join(" ")}; pinned copies checked: ${identical}/${history.entries.length}`,
  );
  for (const p of problems) console.log(`problem: ${p}`);
  const met =
    failed.length === 0 &&
    problems.length === 0 &&
    lags.length >= 10 &&
    maxLag < PROPAGATION_TARGET_MS &&
    p99Lag < PROPAGATION_TARGET_MS;
  console.log(
    `replicas ${REPLICAS} x ${CONNECTIONS} connections over one Ceph RGW store: ${samples.length} requests in ${seconds.toFixed(1)} s ` +
      `(${(samples.length / seconds).toFixed(0)}/s), failures ${failed.length}; ${lags.length} publishes visible on every replica ` +
      `in max ${maxLag.toFixed(0)} ms, p99 ${p99Lag.toFixed(0)} ms (target < ${PROPAGATION_TARGET_MS}); ` +
      `pinned copies identical ${identical}/${history.entries.length} — ${met ? "targets met" : "TARGETS NOT MET"}`,
  );
  if (!met) exitCode = 1;
} catch (error) {
  console.error(`bench:replicas failed: ${error instanceof Error ? error.message : String(error)}`);
  for (const r of replicas) console.error(r.log().slice(-2000));
  exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);
