/**
 * The publish API's compare-and-swap is exact (issue 12 point 6): `bootstream serve` processes
 * over a directory store and over the real S3 server (Ceph RGW), 20 concurrent PUTs carrying the
 * same If-Match (or If-None-Match: *) give exactly one 200/201 and 19 × 412, history lists the
 * winner once, the losers leave nothing behind, and fsck is clean. A precondition that already
 * fails writes nothing at all.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as openpgp from "openpgp";
import { FsStore, type Store } from "../src/storage/index.ts";
import { S3Store } from "../src/storage/s3.ts";
import {
  type RunningBootstream,
  runBootstream,
  spawnBootstream,
  startBootstream,
  startPausedPublish,
} from "./helpers/cli.ts";
import { fixtureJson, tempDir } from "./helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const TOKEN = "cas-test-token";
const RACERS = 20;
const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * The stable stream with its own last-modified and generator: racers share two dates (so they
 * also compete for the same pinned ids) and differ in bytes.
 */
function streamText(n: number, lastModified = `2026-08-0${1 + (n % 2)}T00:00:00Z`): string {
  const s = fixtureJson<Json>("fcos-stable-stream.json");
  s.metadata["last-modified"] = lastModified;
  s.metadata.generator = `cas racer ${n}`;
  return `${JSON.stringify(s, null, 4)}\n`;
}
const BASE_TEXT = streamText(-1, "2026-07-21T14:07:12Z");

interface StoreUnderTest {
  label: string;
  fresh(): Promise<string>;
}

const cleanup: string[] = [];
const STORES: StoreUnderTest[] = [
  {
    label: "directory store",
    fresh: async () => {
      const dir = tempDir("bootstream-cas-store-");
      cleanup.push(dir);
      return dir;
    },
  },
  {
    label: "S3 (Ceph RGW)",
    fresh: (() => {
      let bucket: Promise<string> | undefined;
      let n = 0;
      return async () => {
        bucket ??= freshBucket("cas");
        return `${await bucket}-${n++}`;
      };
    })(),
  },
];

function open(location: string): Store {
  return location.startsWith("s3://")
    ? new S3Store(location, { endpoint: s3Endpoint() })
    : new FsStore(location);
}

/** Every key under streams/ with the sha256 of its bytes. */
async function snapshot(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await store.list("streams/")) {
    const object = await store.get(key);
    assert.ok(object, key);
    out.set(key, sha(object.body));
  }
  return out;
}

async function historyIds(store: Store): Promise<string[]> {
  const object = await store.get("streams/stable/history.json");
  assert.ok(object, "history.json exists");
  return (JSON.parse(new TextDecoder().decode(object.body)) as Json).entries.map((e: Json) => e.id);
}

let privateKeyFile: string;
let publicKeyFile: string;
const servers: RunningBootstream[] = [];

before(async () => {
  const keyDir = tempDir("bootstream-cas-keys-");
  cleanup.push(keyDir);
  const key = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "bootstream cas test", email: "cas@example.invalid" }],
    format: "armored",
  });
  privateKeyFile = join(keyDir, "sign.asc");
  publicKeyFile = join(keyDir, "pub.asc");
  writeFileSync(privateKeyFile, key.privateKey);
  writeFileSync(publicKeyFile, key.publicKey);
});

after(async () => {
  for (const proc of servers) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
    await proc.done;
  }
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** `bootstream serve` with a publish token (and, when signing, --sign-key), on a free port. */
async function serve(location: string, signed: boolean): Promise<{ url: string; log: () => string }> {
  const dir = tempDir("bootstream-cas-serve-");
  cleanup.push(dir);
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const proc = startBootstream([
    "serve",
    "--store",
    location,
    "--port",
    "0",
    "--token-file",
    tokenFile,
    "--log-level",
    "warn",
    ...(signed ? ["--sign-key", privateKeyFile] : []),
  ]);
  servers.push(proc);
  const url = await proc.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 20_000, "stdout");
  return { url, log: () => proc.output().stderr };
}

interface Answer {
  status: number;
  json: Json;
}

async function put(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}/streams/stable.json`, {
    method: "PUT",
    body,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** fsck of the store exits 0 (verifying every signature when signing). */
async function assertFsckClean(location: string, signed: boolean): Promise<void> {
  const run = await runBootstream(["fsck", "--store", location, ...(signed ? ["--key", publicKeyFile] : [])]);
  assert.equal(run.code, 0, `fsck: ${run.stdout}${run.stderr}`);
}

/**
 * Exactly one 2xx, every other answer 412 CONFLICT; returns the winner's index and answer.
 * `log` is the server's stderr, shown when an answer is something else.
 */
function oneWinner(answers: readonly Answer[], log: () => string): { index: number; answer: Answer } {
  const winners = answers.flatMap((a, index) => (a.status === 200 || a.status === 201 ? [index] : []));
  const statuses = answers.map((a) => a.status).join(" ");
  assert.equal(winners.length, 1, `exactly one winner; statuses: ${statuses}; server log:\n${log()}`);
  const index = winners[0] as number;
  answers.forEach((a, i) => {
    if (i === index) return;
    const why = `racer ${i}: ${JSON.stringify(a.json)}; server log:\n${log()}`;
    assert.equal(a.status, 412, why);
    assert.equal(a.json.error?.code, "CONFLICT", why);
  });
  return { index, answer: answers[index] as Answer };
}

for (const under of STORES) {
  describe(`publish API compare-and-swap over a ${under.label}`, () => {
    for (const signed of [false, true]) {
      const label = signed ? "signed" : "unsigned";
      it(`${RACERS} concurrent PUTs with the same If-Match: one 201, ${RACERS - 1} x 412, only the winner is added (${label})`, async () => {
        const location = await under.fresh();
        const { url, log } = await serve(location, signed);
        const first = await put(url, BASE_TEXT, { "if-none-match": "*" });
        assert.equal(first.status, 201, JSON.stringify(first.json));
        const got = await fetch(`${url}/streams/stable.json`);
        assert.equal(await got.text(), BASE_TEXT);
        // fetch asks for gzip: the ETag a real client holds names the encoded form.
        const etag = got.headers.get("etag");
        assert.equal(etag, `"${sha(BASE_TEXT)}-gzip"`);
        const store = open(location);
        const before = await snapshot(store);

        const bodies = Array.from({ length: RACERS }, (_, n) => streamText(n));
        const answers = await Promise.all(bodies.map((b) => put(url, b, { "if-match": etag as string })));
        const { index, answer } = oneWinner(answers, log);
        assert.equal(answer.status, 201);
        const winnerText = bodies[index] as string;
        const winnerKey = `streams/stable/${answer.json.id}.json`;
        assert.equal(answer.json.sha256, sha(winnerText));

        const afterwards = await snapshot(store);
        const added = [...afterwards.keys()].filter((k) => !before.has(k)).sort();
        assert.deepEqual(
          added,
          signed ? [winnerKey, `${winnerKey}.asc`] : [winnerKey],
          "only the winner's copy",
        );
        assert.deepEqual(
          [...before.keys()].filter((k) => !afterwards.has(k)),
          [],
          "nothing removed",
        );
        // What changed: the pointer (and its .asc) and history (and its .asc); everything else as before.
        const mutable = new Set([
          "streams/stable.json",
          "streams/stable.json.asc",
          "streams/stable/history.json",
          "streams/stable/history.json.asc",
        ]);
        for (const [key, digest] of before) {
          if (!mutable.has(key)) assert.equal(afterwards.get(key), digest, `${key} unchanged`);
        }
        assert.equal(afterwards.get(winnerKey), sha(winnerText));
        assert.equal(
          afterwards.get("streams/stable.json"),
          sha(winnerText),
          "the pointer is the winner's bytes",
        );
        assert.deepEqual(await historyIds(store), [answer.json.id, "20260721"], "history: winner, base");
        const served = await fetch(`${url}/streams/stable.json`);
        assert.equal(await served.text(), winnerText);
        await assertFsckClean(location, signed);
      });
    }

    it("If-None-Match: * from 20 concurrent creators: one 201, the rest 412, only the winner's files", async () => {
      const location = await under.fresh();
      const { url, log } = await serve(location, true);
      const bodies = Array.from({ length: RACERS }, (_, n) => streamText(n));
      const answers = await Promise.all(bodies.map((b) => put(url, b, { "if-none-match": "*" })));
      const { index, answer } = oneWinner(answers, log);
      const winnerKey = `streams/stable/${answer.json.id}.json`;
      const store = open(location);
      const keys = [...(await snapshot(store)).keys()].sort();
      assert.deepEqual(
        keys,
        [
          "streams/stable.json",
          "streams/stable.json.asc",
          winnerKey,
          `${winnerKey}.asc`,
          "streams/stable/history.json",
          "streams/stable/history.json.asc",
        ].sort(),
      );
      assert.deepEqual(await historyIds(store), [answer.json.id]);
      assert.equal(sha((await store.get("streams/stable.json"))?.body ?? ""), sha(bodies[index] as string));
      await assertFsckClean(location, true);
    });

    it("a precondition that already fails answers before anything is written", async () => {
      const location = await under.fresh();
      const { url } = await serve(location, true);
      const missing = await put(url, BASE_TEXT, { "if-match": "*" });
      assert.equal(missing.status, 412, "If-Match: * on a pointer that does not exist");
      assert.equal(missing.json.error.code, "CONFLICT");
      assert.deepEqual([...(await snapshot(open(location))).keys()], [], "nothing written");

      assert.equal((await put(url, BASE_TEXT)).status, 201);
      const store = open(location);
      const before = await snapshot(store);
      const next = streamText(1);
      const refused: [Record<string, string>, number][] = [
        [{ "if-match": `"${sha("another version")}"` }, 412],
        [{ "if-match": `"${sha("a")}", "${sha("b")}-gzip"` }, 412],
        // Strong comparison: a weak tag never matches, even the current one.
        [{ "if-match": `W/"${sha(BASE_TEXT)}"` }, 412],
        [{ "if-none-match": "*" }, 412],
        // If-None-Match compares weakly: W/ names the current version too.
        [{ "if-none-match": `W/"${sha(BASE_TEXT)}-br"` }, 412],
        // Both present: If-Match holds, If-None-Match does not.
        [{ "if-match": `"${sha(BASE_TEXT)}"`, "if-none-match": `"${sha(BASE_TEXT)}"` }, 412],
        [{ "if-match": sha(BASE_TEXT) }, 400],
        [{ "if-match": `"${sha(BASE_TEXT)}" junk` }, 400],
      ];
      for (const [headers, status] of refused) {
        const answer = await put(url, next, headers);
        assert.equal(answer.status, status, `${JSON.stringify(headers)}: ${JSON.stringify(answer.json)}`);
        assert.equal(answer.json.error.code, status === 412 ? "CONFLICT" : "USAGE");
        assert.deepEqual(await snapshot(store), before, `${JSON.stringify(headers)}: nothing written`);
      }
      // POST /v1/publish evaluates the same precondition on the pointer of the stream it publishes.
      const post = await fetch(`${url}/v1/publish`, {
        method: "POST",
        body: next,
        headers: { authorization: `Bearer ${TOKEN}`, "if-match": `"${sha("another version")}"` },
      });
      assert.equal(post.status, 412);
      assert.equal(((await post.json()) as Json).error.code, "CONFLICT");
      assert.deepEqual(await snapshot(store), before, "POST: nothing written");
      // A list naming the current version among others, as gzip: it holds.
      const ok = await put(url, next, {
        "if-match": `"${sha("a")}", "x,y", "${sha(BASE_TEXT)}-gzip"`,
      });
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
      await assertFsckClean(location, true);
    });
  });
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * A publisher process with a pointer precondition that pauses after the steps named in
 * PAUSE_AFTER until `<barriers>/<step>` exists (the API has no such hook, so this drives the
 * same publish path directly, as a separate process a test can SIGKILL).
 */
const LOSER_SCRIPT = `
import { readFileSync } from "node:fs";
import { untilFileExists } from ${JSON.stringify(new URL("./helpers/wait.ts", import.meta.url).href)};
import { publishStream } from ${JSON.stringify(new URL("../src/publish/publish.ts", import.meta.url).href)};
import { openStore } from ${JSON.stringify(new URL("../src/storage/index.ts", import.meta.url).href)};
const [location, file, ifMatch, barriers] = process.argv.slice(2);
const pauses = (process.env.PAUSE_AFTER ?? "").split(",");
const endpoint = process.env.AWS_ENDPOINT_URL;
const store = await openStore(location, endpoint ? { endpoint } : {});
try {
  await publishStream(store, readFileSync(file), {
    pointerPrecondition: { ifMatch: [ifMatch] },
    afterStep: async (step) => {
      if (!pauses.includes(step)) return;
      process.stderr.write("paused after " + step + "\\n");
      await untilFileExists(barriers + "/" + step, { timeoutMs: 120_000 });
    },
  });
  process.stderr.write("published\\n");
} catch (error) {
  process.stderr.write(error.code + ": " + error.message + "\\n");
  process.exitCode = 1;
}
`;

interface Loser {
  child: ChildProcess;
  stderr: () => string;
  paused(step: string): Promise<void>;
  release(step: string): void;
  done: Promise<number | null>;
}

function startLoser(location: string, text: string, ifMatchSha: string, pauseAfter: string[]): Loser {
  const dir = tempDir("bootstream-cas-loser-");
  cleanup.push(dir);
  const script = join(dir, "loser.mts");
  writeFileSync(script, LOSER_SCRIPT);
  const file = join(dir, "stream.json");
  writeFileSync(file, text);
  const child = spawn(process.execPath, ["--import", "tsx", script, location, file, ifMatchSha, dir], {
    cwd: ROOT,
    env: { ...process.env, PAUSE_AFTER: pauseAfter.join(",") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    stderr: () => stderr,
    paused(step) {
      // Resolves on the stderr line; fails if the child ends first or after 20 s.
      const line = `paused after ${step}`;
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!stderr.includes(line)) return;
          stop();
          resolve();
        };
        const ended = () => {
          stop();
          reject(new Error(`exited before pausing after ${step}: ${stderr}`));
        };
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`not paused after ${step} within 20 s: ${stderr}`));
        }, 20_000);
        const stop = () => {
          clearTimeout(timer);
          child.stderr?.off("data", check);
          child.off("close", ended);
        };
        child.stderr?.on("data", check);
        child.on("close", ended);
        check();
        if (child.exitCode !== null || child.signalCode !== null) ended();
      });
    },
    release(step) {
      writeFileSync(join(dir, step), "");
    },
    done,
  };
}

/** Publishes with the CLI in its own process (no precondition), --force: lint is not the point. */
async function publishCli(location: string, text: string): Promise<void> {
  const dir = tempDir("bootstream-cas-cli-");
  cleanup.push(dir);
  const file = join(dir, "stream.json");
  writeFileSync(file, text);
  const run = await spawnBootstream(["publish", file, "--store", location, "--force"]);
  assert.equal(run.code, 0, run.stderr);
}

async function fsckFindings(location: string): Promise<string> {
  const run = await runBootstream(["fsck", "--store", location]);
  assert.equal(run.code === 0, run.stdout === "", `fsck exit ${run.code}: ${run.stdout}${run.stderr}`);
  return run.stdout;
}

for (const under of STORES) {
  describe(`a losing precondition publisher, paused and killed (${under.label})`, () => {
    const base = sha(BASE_TEXT);
    const loserText = streamText(0);
    const otherText = streamText(1);

    it("killed before withdrawing: an orphan copy and its entry, as a CLI conflict leaves; fsck clean", async () => {
      const location = await under.fresh();
      await publishCli(location, BASE_TEXT);
      const loser = startLoser(location, loserText, base, ["history"]);
      await loser.paused("history");
      await publishCli(location, otherText);
      loser.child.kill("SIGKILL");
      await loser.done;
      const store = open(location);
      assert.equal((await historyIds(store)).length, 3, "base, the loser's orphan, the other publish");
      assert.equal(await fsckFindings(location), "");
    });

    it("killed between its history entry and its copy: only that copy is left, not in history", async () => {
      const location = await under.fresh();
      await publishCli(location, BASE_TEXT);
      const loser = startLoser(location, loserText, base, ["history", "withdrawn"]);
      await loser.paused("history");
      await publishCli(location, otherText);
      loser.release("history");
      await loser.paused("withdrawn");
      loser.child.kill("SIGKILL");
      await loser.done;
      const store = open(location);
      assert.deepEqual(await historyIds(store), ["20260802", "20260721"], "the loser's entry is gone");
      assert.equal(
        await fsckFindings(location),
        "streams/stable/20260801.json: pinned-not-in-history: pinned copy 20260801 is not listed in streams/stable/history.json\n",
      );
    });

    it("a publisher of the same bytes reused the loser's copy and won: the loser keeps it (412, fsck clean)", async () => {
      const location = await under.fresh();
      await publishCli(location, BASE_TEXT);
      const loser = startLoser(location, loserText, base, ["history"]);
      await loser.paused("history");
      await publishCli(location, loserText);
      loser.release("history");
      assert.equal(await loser.done, 1, loser.stderr());
      assert.match(loser.stderr(), /CONFLICT: .*does not satisfy If-Match/);
      const store = open(location);
      assert.deepEqual(await historyIds(store), ["20260801", "20260721"]);
      assert.equal(sha((await store.get("streams/stable.json"))?.body ?? ""), sha(loserText));
      assert.equal(sha((await store.get("streams/stable/20260801.json"))?.body ?? ""), sha(loserText));
      assert.equal(await fsckFindings(location), "");
    });

    it("the same bytes win while the loser withdraws: it puts its copy back (fsck clean)", async () => {
      const location = await under.fresh();
      await publishCli(location, BASE_TEXT);
      const loser = startLoser(location, loserText, base, ["history", "withdrawn"]);
      await loser.paused("history");
      await publishCli(location, otherText);
      loser.release("history");
      await loser.paused("withdrawn");
      // Entry withdrawn, copy not yet deleted: a CLI publish of the same bytes adopts the copy and wins.
      await publishCli(location, loserText);
      loser.release("withdrawn");
      assert.equal(await loser.done, 1, loser.stderr());
      const store = open(location);
      assert.equal(sha((await store.get("streams/stable.json"))?.body ?? ""), sha(loserText));
      const history = JSON.parse(
        new TextDecoder().decode((await store.get("streams/stable/history.json"))?.body),
      );
      const entry = (history as Json).entries.find((e: Json) => e.sha256 === sha(loserText));
      assert.ok(entry, "history lists the bytes the pointer holds");
      const copy = await store.get(`streams/stable/${entry.id}.json`);
      assert.equal(sha(copy?.body ?? ""), sha(loserText), "its pinned copy is there");
      assert.equal(await fsckFindings(location), "");
    });

    it("a publisher of the same bytes reused the loser's copy, which is withdrawn before its swap: it puts the copy back", async () => {
      const location = await under.fresh();
      await publishCli(location, BASE_TEXT);
      const loser = startLoser(location, loserText, base, ["history"]);
      await loser.paused("history");
      await publishCli(location, otherText);
      // A CLI publisher of the loser's bytes reuses its copy and entry, and pauses before its swap.
      const dir = tempDir("bootstream-cas-reuser-");
      cleanup.push(dir);
      writeFileSync(join(dir, "stream.json"), loserText);
      const reuser = startPausedPublish([join(dir, "stream.json"), "--store", location, "--force"], {
        after: "history",
        barrier: join(dir, "go"),
      });
      await reuser.waitFor(/paused after history/);
      loser.release("history");
      assert.equal(await loser.done, 1, loser.stderr());
      const store = open(location);
      assert.equal(await store.head("streams/stable/20260801.json"), undefined, "withdrawn");
      writeFileSync(join(dir, "go"), "");
      const run = await reuser.done;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(sha((await store.get("streams/stable.json"))?.body ?? ""), sha(loserText));
      assert.equal(sha((await store.get("streams/stable/20260801.json"))?.body ?? ""), sha(loserText));
      assert.deepEqual(await historyIds(store), ["20260801", "20260802", "20260721"]);
      assert.equal(await fsckFindings(location), "");
    });
  });
}
