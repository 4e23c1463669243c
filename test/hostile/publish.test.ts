/**
 * Hostile and broken conditions around publishing, with real processes: publishers SIGKILLed
 * at each step and at random moments (signed, on a directory and on the real S3 server),
 * locks and temporaries of dead writers, a live writer's lock, a full disk, a corrupt
 * history, and names outside the one stream name pattern.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { FsStore, type Store } from "../../src/storage/index.ts";
import { S3Store } from "../../src/storage/s3.ts";
import { runBootstream, spawnBootstream, startBootstream, startPausedPublish } from "../helpers/cli.ts";
import { fixtureJson, fixturePath, tempDir } from "../helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "../helpers/s3.ts";
import { elapse } from "../helpers/wait.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const STABLE = fixturePath("fcos-stable-stream.json");
const OLD = fixturePath("fcos-stable-stream-2020.json");
const HOST =
  hostname()
    .replace(/[^A-Za-z0-9.-]/g, "-")
    .slice(0, 63) || "localhost";
const SIGNED_FILES = ["streams/stable.json", "streams/stable/20260721.json", "streams/stable/history.json"];

/** A pid that certainly belonged to a process that is gone now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(child.stdout);
}

/** Every regular file under `dir` (walks the real directory, not the Store API). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path).map((p) => `${entry.name}/${p}`));
    else out.push(entry.name);
  }
  return out.sort();
}

function open(location: string): Store {
  return location.startsWith("s3://")
    ? new S3Store(location, { endpoint: s3Endpoint() })
    : new FsStore(location);
}

let keyDir: string;
before(async () => {
  keyDir = tempDir("bootstream-hostile-keys-");
  const key = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "bootstream hostile test" }],
    format: "armored",
  });
  writeFileSync(join(keyDir, "sign.asc"), key.privateKey);
  writeFileSync(join(keyDir, "pub.asc"), key.publicKey);
});
const sign = () => ["--sign-key", join(keyDir, "sign.asc")];

/** fsck --key is clean, and `verify` accepts every file's .asc (local copies for S3). */
async function assertCompleteAndSigned(location: string): Promise<void> {
  const fsck = await runBootstream(["fsck", "--store", location, "--key", join(keyDir, "pub.asc")]);
  assert.equal(fsck.code, 0, `fsck: ${fsck.stdout}${fsck.stderr}`);
  const store = open(location);
  const local = tempDir("bootstream-verify-");
  for (const key of SIGNED_FILES) {
    const file = join(local, key.replaceAll("/", "_"));
    writeFileSync(file, (await store.get(key))?.body ?? new Uint8Array());
    writeFileSync(`${file}.asc`, (await store.get(`${key}.asc`))?.body ?? new Uint8Array());
    const verify = await runBootstream(["verify", file, "--key", join(keyDir, "pub.asc")]);
    assert.equal(verify.code, 0, `verify ${key}: ${verify.stderr}`);
  }
  if (!location.startsWith("s3://"))
    assert.deepEqual(
      filesUnder(location).filter((f) => /\.(tmp|lock)$/.test(f)),
      [],
    );
}

const STORES = [
  { label: "directory", fresh: async () => tempDir("bootstream-hostile-store-") },
  {
    label: "S3",
    fresh: (() => {
      let bucket: Promise<string> | undefined;
      let n = 0;
      return async () => {
        bucket ??= freshBucket("hostile");
        return `${await bucket}-${n++}`;
      };
    })(),
  },
];

for (const under of STORES) {
  describe(`interrupted signed publish (${under.label})`, () => {
    for (const step of ["pinned", "signature", "history", "pointer"] as const) {
      it(`attack: SIGKILL a signed publish after its ${step} step, rerun it -> every .asc verifies, fsck clean (${under.label})`, async () => {
        const location = await under.fresh();
        assert.equal((await runBootstream(["publish", OLD, "--store", location, ...sign()])).code, 0);
        const p = startPausedPublish([STABLE, "--store", location, "--force", ...sign()], { after: step });
        await p.waitFor(new RegExp(`paused after ${step}`), 60_000);
        p.child.kill("SIGKILL");
        await p.done;
        const again = await spawnBootstream(["publish", STABLE, "--store", location, "--force", ...sign()], {
          timeoutMs: 60_000,
        });
        assert.equal(again.code, 0, again.stderr);
        await assertCompleteAndSigned(location);
      });
    }

    for (const target of SIGNED_FILES) {
      it(`attack: a stale ${target.slice(8)}.asc left by an interrupted run -> the rerun re-signs it (${under.label})`, async () => {
        const location = await under.fresh();
        assert.equal((await runBootstream(["publish", STABLE, "--store", location, ...sign()])).code, 0);
        const store = open(location);
        // A good signature, of other bytes: what a run killed between a file and its .asc leaves.
        // (The pointer's .asc is a copy of the pinned copy's, so history's is "other bytes" for both.)
        const other = target.endsWith("history.json")
          ? "streams/stable/20260721.json"
          : "streams/stable/history.json";
        const stale = (await store.get(`${other}.asc`))?.body as Uint8Array;
        await store.putIfMatch(`${target}.asc`, stale, (await store.head(`${target}.asc`)) ?? null);
        const again = await runBootstream(["publish", STABLE, "--store", location, ...sign()]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, new RegExp(`repaired ${target.replaceAll(".", "\\.")}\\.asc`));
        await assertCompleteAndSigned(location);
      });
    }

    it(`attack: SIGKILL signed publishers at random moments, then rerun -> complete and signed (${under.label})`, async () => {
      const location = await under.fresh();
      assert.equal((await runBootstream(["publish", OLD, "--store", location, ...sign()])).code, 0);
      const started = Date.now();
      const timed = await spawnBootstream(["publish", OLD, "--store", location, ...sign()], {
        timeoutMs: 60_000,
      });
      assert.equal(timed.code, 0, timed.stderr);
      const span = Date.now() - started;
      for (const file of [STABLE, OLD, STABLE]) {
        const p = startBootstream(["publish", file, "--store", location, "--force", ...sign()]);
        const at = Math.round(span * (0.4 + 0.6 * Math.random()));
        // A random moment is the behaviour under test (a crash anywhere in the publish), not a guess.
        await elapse(at);
        p.child.kill("SIGKILL");
        await p.done; // killed anywhere, or finished first: both must be completed by the rerun
      }
      const again = await spawnBootstream(["publish", STABLE, "--store", location, "--force", ...sign()], {
        timeoutMs: 60_000,
      });
      assert.equal(again.code, 0, again.stderr);
      await assertCompleteAndSigned(location);
    });
  });
}

describe("leftovers of killed writers (directory)", () => {
  it("attack: locks and temporaries of a SIGKILLed publisher (dead pid) -> the rerun removes them and says so", async () => {
    const location = tempDir("bootstream-hostile-store-");
    assert.equal((await runBootstream(["publish", STABLE, "--store", location, ...sign()])).code, 0);
    const pid = deadPid();
    const planted = [
      "streams/stable.json.lock",
      "streams/stable/history.json.lock",
      `streams/stable/20260721.json.${pid}@${HOST}.0123456789ab.tmp`,
      "streams/stable.json.abc123def456.tmp",
    ];
    writeFileSync(
      join(location, planted[0] as string),
      `${JSON.stringify({ pid, host: HOST, created: new Date().toISOString() })}\n`,
    );
    writeFileSync(join(location, planted[1] as string), `${pid}\n`); // the old format: a pid only
    writeFileSync(join(location, planted[2] as string), "partial");
    writeFileSync(join(location, planted[3] as string), "partial"); // old name, no owner: stale by age
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(location, planted[3] as string), old, old);
    const again = await spawnBootstream(["publish", STABLE, "--store", location, ...sign()]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(`removed stale lock streams/stable\\.json\\.lock \\(pid ${pid} on `),
    );
    for (const file of planted) assert.equal(existsSync(join(location, file)), false, file);
    await assertCompleteAndSigned(location);
  });

  it("attack: fsck on a store holding a killed publisher's lock -> a stale-lock finding with age, owner and the file to remove", async () => {
    const location = tempDir("bootstream-hostile-store-");
    assert.equal((await runBootstream(["publish", STABLE, "--store", location])).code, 0);
    const pid = deadPid();
    writeFileSync(
      join(location, "streams/stable.json.lock"),
      `${JSON.stringify({ pid, host: HOST, created: new Date().toISOString() })}\n`,
    );
    const run = await runBootstream(["fsck", "--store", location, "--json"]);
    assert.equal(run.code, 1);
    const [finding, ...rest] = JSON.parse(run.stdout) as Json[];
    assert.deepEqual(rest, []);
    assert.equal(finding?.key, "streams/stable.json.lock");
    assert.equal(finding?.problem, "stale-lock");
    assert.match(finding?.message, new RegExp(`pid ${pid} on ${HOST}, for \\d+ s`));
    assert.match(finding?.message, /the next publish removes it/);
  });

  it("attack: a lock that records no owner, 45 s old -> the next publish removes it as a stale lock", async () => {
    const location = tempDir("bootstream-hostile-store-");
    assert.equal((await runBootstream(["publish", OLD, "--store", location])).code, 0);
    const lock = join(location, "streams/stable.json.lock");
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 45_000);
    utimesSync(lock, old, old);
    const run = await spawnBootstream(["publish", STABLE, "--store", location, "--force"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /removed stale lock streams\/stable\.json\.lock \(an unrecorded writer, 4\d s old\)/,
    );
    assert.equal(existsSync(lock), false);
  });

  it("attack: a live process on this host holds the pointer's lock -> CONFLICT naming the lock, owner, age and how to clear it, not 'moved by another publisher'", async () => {
    const location = tempDir("bootstream-hostile-store-");
    assert.equal((await runBootstream(["publish", OLD, "--store", location])).code, 0);
    const holder = startBootstream(["serve", "--store", location, "--port", "0"]); // any live process of ours
    await holder.waitFor(/http:\/\//, 60_000, "stdout");
    try {
      writeFileSync(
        join(location, "streams/stable.json.lock"),
        `${JSON.stringify({ pid: holder.child.pid, host: HOST, created: new Date().toISOString() })}\n`,
      );
      const run = await spawnBootstream(["publish", STABLE, "--store", location, "--force", "--json"], {
        timeoutMs: 60_000,
      });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(JSON.parse(run.stdout).error.code, "CONFLICT");
      assert.match(run.stderr, /streams\/stable\.json\.lock is held: another publisher is writing/);
      assert.match(run.stderr, new RegExp(`by pid ${holder.child.pid} on ${HOST}, for \\d+ s`));
      assert.match(run.stderr, /remove that file, or publish again once it is 30 s old/);
      assert.doesNotMatch(run.stderr, /moved by another publisher/);
      assert.equal(existsSync(join(location, "streams/stable.json.lock")), true, "a live lock stays");
    } finally {
      holder.child.kill("SIGTERM");
      await holder.done;
    }
  });
});

// 64 KiB fills while the history's lock is written; 128 KiB while the pointer's temporary is.
for (const size of ["64k", "128k"]) {
  describe(`a full disk (tmpfs of ${size})`, () => {
    const mount = tempDir("bootstream-hostile-full-");
    let mounted = false;
    before(() => {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mount]);
      mounted = true;
    });
    after(() => {
      if (mounted) execFileSync("umount", [mount]);
    });

    it(`attack: publish into a store on a disk that fills up (${size}) -> IO (exit 2), no *.tmp or *.lock left`, async () => {
      const run = await spawnBootstream(["publish", STABLE, "--store", mount, "--json"]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(JSON.parse(run.stdout).error.code, "IO");
      assert.match(run.stderr, /ENOSPC/);
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, "one line");
      assert.deepEqual(
        filesUnder(mount).filter((f) => /\.(tmp|lock)$/.test(f)),
        [],
      );
    });
  });
}

describe("corrupt store objects", () => {
  it("attack: history.json in the store is not JSON -> publish fails with IO naming it as corrupt, not as a bad stream", async () => {
    const location = tempDir("bootstream-hostile-store-");
    assert.equal((await runBootstream(["publish", OLD, "--store", location])).code, 0);
    writeFileSync(join(location, "streams/stable/history.json"), '{"stream": "stable", "entries": [');
    const run = await spawnBootstream(["publish", STABLE, "--store", location, "--force", "--json"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(JSON.parse(run.stdout).error.code, "IO");
    assert.match(run.stderr, /streams\/stable\/history\.json is corrupt \(not JSON/);
  });

  it("attack: history.json lists an entry id '../../x' -> IO naming the file and the entry, nothing written outside", async () => {
    const parent = tempDir("bootstream-hostile-");
    const location = join(parent, "store");
    mkdirSync(location);
    assert.equal((await runBootstream(["publish", OLD, "--store", location])).code, 0);
    const history = JSON.parse(
      execFileSync("cat", [join(location, "streams/stable/history.json")], { encoding: "utf8" }),
    );
    history.entries[0].id = "../../x";
    writeFileSync(join(location, "streams/stable/history.json"), JSON.stringify(history));
    const run = await spawnBootstream(["publish", STABLE, "--store", location, "--force", "--json"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(JSON.parse(run.stdout).error.code, "IO");
    assert.match(run.stderr, /history\.json is corrupt \(\/entries\/0\/id: expected a pinned id/);
    assert.deepEqual(readdirSync(parent), ["store"]);
  });
});

describe("stream names: one strict pattern", () => {
  for (const name of ["Stable", "a".repeat(65), "stable.", "-x"]) {
    it(`attack: publish --name ${JSON.stringify(name.slice(0, 12))} (outside the pattern) -> USAGE, nothing written`, async () => {
      const location = tempDir("bootstream-hostile-store-");
      const run = await runBootstream(["publish", STABLE, "--store", location, "--name", name, "--json"]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(JSON.parse(run.stdout).error.code, "USAGE");
      assert.match(run.stderr, /invalid stream name .*: expected a stream name of lowercase letters/);
      assert.deepEqual(filesUnder(location), []);
    });
  }

  it("attack: a stream document whose own stream field is 'Stable' -> INVALID_DOCUMENT at /stream, nothing written", async () => {
    const location = tempDir("bootstream-hostile-store-");
    const doc = fixtureJson<Json>("fcos-stable-stream.json");
    doc.stream = "Stable";
    const file = join(tempDir(), "upper.json");
    writeFileSync(file, `${JSON.stringify(doc, null, 4)}\n`);
    const run = await runBootstream(["publish", file, "--store", location, "--json"]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(JSON.parse(run.stdout).error.code, "INVALID_DOCUMENT");
    assert.match(run.stderr, /\/stream/);
    assert.deepEqual(filesUnder(location), []);
    rmSync(file);
  });
});
