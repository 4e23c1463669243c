/**
 * Publishing against both stores: a local directory and the real S3 server (Ceph RGW).
 * Races and crashes use real processes: publishers pause between steps through the library's
 * afterStep hook (test/helpers/paused-publisher.ts) and are released together or killed there.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { sha256Hex } from "../src/files/hash.ts";
import { FsStore, openStore, type Store } from "../src/storage/index.ts";
import { S3Store } from "../src/storage/s3.ts";
import { runBootstream, spawnBootstream, startPausedPublish } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const dir = tempDir("bootstream-publish-");
const STABLE = fixturePath("fcos-stable-stream.json");
const OLD = fixturePath("fcos-stable-stream-2020.json");
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** A canonical variant of the stable stream (same date: competes for the same pinned id). */
function variant(name: string, generator: string, lastModified = "2026-07-21T14:07:12Z"): string {
  const s = fixtureJson<Json>("fcos-stable-stream.json");
  s.metadata.generator = generator;
  s.metadata["last-modified"] = lastModified;
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(s, null, 4)}\n`);
  return path;
}

interface StoreUnderTest {
  label: string;
  /** A fresh, empty store location for one test. */
  fresh(): Promise<string>;
}

const STORES: StoreUnderTest[] = [
  { label: "local directory", fresh: async () => tempDir("bootstream-store-") },
  {
    label: "S3 (Ceph RGW)",
    fresh: (() => {
      let bucket: Promise<string> | undefined;
      let n = 0;
      return async () => {
        bucket ??= freshBucket("root");
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

for (const under of STORES) {
  describe(`publish to ${under.label}`, () => {
    it("writes the pinned copy, its history entry, then the pointer", async () => {
      const location = await under.fresh();
      const run = await runBootstream(["publish", OLD, "--store", location]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "streams/stable/20200110.json\n");
      const store = open(location);
      assert.equal(
        text((await store.get("streams/stable.json"))?.body),
        fixtureText("fcos-stable-stream-2020.json"),
      );
      assert.equal(
        text((await store.get("streams/stable/20200110.json"))?.body),
        fixtureText("fcos-stable-stream-2020.json"),
      );
      const history = JSON.parse(text((await store.get("streams/stable/history.json"))?.body) ?? "{}");
      assert.equal(history.stream, "stable");
      assert.deepEqual(
        history.entries.map((e: Json) => [e.id, e["last-modified"], e.size, e.releases]),
        [["20200110", "2020-01-10T17:38:35Z", 11660, { x86_64: "31.20200108.3.0" }]],
      );
      assert.equal(
        history.entries[0].sha256,
        sha256Hex(new TextEncoder().encode(fixtureText("fcos-stable-stream-2020.json"))),
      );
    });

    it("does not duplicate identical content, and numbers another copy of the same day -2", async () => {
      const location = await under.fresh();
      const a = variant("same-day-a.json", "gen a");
      const b = variant("same-day-b.json", "gen b");
      assert.equal(
        (await runBootstream(["publish", a, "--store", location])).stdout,
        "streams/stable/20260721.json\n",
      );
      const again = await runBootstream(["publish", a, "--store", location]);
      assert.equal(again.stdout, "streams/stable/20260721.json\n");
      assert.match(again.stderr, /already points at 20260721/);
      assert.equal(
        (await runBootstream(["publish", b, "--store", location])).stdout,
        "streams/stable/20260721-2.json\n",
      );
      const history = await runBootstream(["history", "stable", "--store", location, "--json"]);
      const parsed = JSON.parse(history.stdout);
      assert.equal(parsed.current, "20260721-2");
      assert.deepEqual(
        parsed.entries.map((e: Json) => e.id),
        ["20260721-2", "20260721"],
      );
    });

    it("refuses a stream whose lint fails unless --force", async () => {
      const location = await under.fresh();
      await runBootstream(["publish", STABLE, "--store", location]);
      const back = await runBootstream(["publish", OLD, "--store", location]);
      assert.equal(back.code, 1);
      assert.match(
        back.stderr,
        /refusing to publish stable: \d+ lint violations \(use --force to publish anyway\)/,
      );
      assert.match(
        back.stderr,
        /no-downgrade: x86_64 goes back from 44\.20260707\.3\.1 to 31\.20200108\.3\.0/,
      );
      const store = open(location);
      assert.equal(
        text((await store.get("streams/stable.json"))?.body),
        fixtureText("fcos-stable-stream.json"),
        "pointer untouched",
      );
      assert.equal(await store.get("streams/stable/20200110.json"), undefined, "nothing pinned");
      const forced = await runBootstream(["publish", OLD, "--store", location, "--force"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(
        text((await store.get("streams/stable.json"))?.body),
        fixtureText("fcos-stable-stream-2020.json"),
      );
    });

    it("lists history and rolls back to a pinned copy, keeping every copy", async () => {
      const location = await under.fresh();
      await runBootstream(["publish", OLD, "--store", location]);
      await runBootstream(["publish", STABLE, "--store", location, "--force"]);
      const table = await runBootstream(["history", "stable", "--store", location]);
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(lines[0] as string, /^ {2}ID\s+LAST-MODIFIED\s+RELEASES\s+SIZE\s+SHA256$/);
      assert.match(
        lines[1] as string,
        /^\* 20260721\s+2026-07-21T14:07:12Z\s+aarch64=44\.20260707\.3\.1 ppc64le=44\.20260707\.3\.1 s390x=44\.20260707\.3\.1 x86_64=44\.20260707\.3\.1\s+61668\s+[0-9a-f]{16}$/,
      );
      assert.match(lines[2] as string, /^ {2}20200110\s/);
      const rollback = await runBootstream(["rollback", "stable", "20200110", "--store", location]);
      assert.equal(rollback.code, 0, rollback.stderr);
      const store = open(location);
      assert.equal(
        text((await store.get("streams/stable.json"))?.body),
        fixtureText("fcos-stable-stream-2020.json"),
      );
      assert.notEqual(await store.get("streams/stable/20260721.json"), undefined);
      const missing = await runBootstream(["rollback", "stable", "20990101", "--store", location]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no pinned copy 20990101 of stable; available: 20260721, 20200110/);
    });

    it("two racing publishers: both pinned copies survive, one pointer update wins, the loser gets CONFLICT", async () => {
      const location = await under.fresh();
      await runBootstream(["publish", STABLE, "--store", location]);
      const barrier = join(tempDir(), "go");
      const pause = { after: "history", barrier };
      const a = startPausedPublish([variant("race-a.json", "racer a"), "--store", location], pause);
      const b = startPausedPublish([variant("race-b.json", "racer b"), "--store", location], pause);
      // Both have read the same pointer, linted, pinned and recorded history: now let them race.
      await Promise.all([a.waitFor(/paused after history/), b.waitFor(/paused after history/)]);
      writeFileSync(barrier, "");
      const [ra, rb] = await Promise.all([a.done, b.done]);
      const codes = [ra.code, rb.code].sort();
      assert.deepEqual(codes, [0, 1], `${ra.stderr}\n${rb.stderr}`);
      const loser = ra.code === 1 ? ra : rb;
      assert.match(
        loser.stderr,
        /streams\/stable\.json in .* was moved by another publisher while this one ran; the pinned copy 20260721-[23] is kept/,
      );
      const store = open(location);
      const history = JSON.parse(text((await store.get("streams/stable/history.json"))?.body) ?? "{}");
      assert.deepEqual(history.entries.map((e: Json) => e.id).sort(), [
        "20260721",
        "20260721-2",
        "20260721-3",
      ]);
      const pointer = text((await store.get("streams/stable.json"))?.body) ?? "";
      const winner = ra.code === 0 ? "racer a" : "racer b";
      assert.ok(pointer.includes(`"generator": "${winner}"`));
      const fsck = await runBootstream(["fsck", "--store", location]);
      assert.equal(fsck.code, 0, fsck.stdout);
    });

    it("with --retry the loser re-lints against the winner and then moves the pointer", async () => {
      const location = await under.fresh();
      await runBootstream(["publish", STABLE, "--store", location]);
      const barrier = join(tempDir(), "go");
      const pause = { after: "history", barrier };
      const a = startPausedPublish(
        [variant("retry-a.json", "retry a"), "--store", location, "--retry"],
        pause,
      );
      const b = startPausedPublish(
        [variant("retry-b.json", "retry b"), "--store", location, "--retry"],
        pause,
      );
      await Promise.all([a.waitFor(/paused after history/), b.waitFor(/paused after history/)]);
      writeFileSync(barrier, "");
      const [ra, rb] = await Promise.all([a.done, b.done]);
      assert.equal(ra.code, 0, ra.stderr);
      assert.equal(rb.code, 0, rb.stderr);
      const store = open(location);
      const history = JSON.parse(text((await store.get("streams/stable/history.json"))?.body) ?? "{}");
      assert.equal(history.entries.length, 3);
      assert.equal((await runBootstream(["fsck", "--store", location])).code, 0);
    });

    for (const step of ["pinned", "history"] as const) {
      it(`a publisher killed after the ${step} step leaves the old pointer serving and nothing half-written`, async () => {
        const location = await under.fresh();
        await runBootstream(["publish", OLD, "--store", location]);
        const p = startPausedPublish([STABLE, "--store", location, "--force"], { after: step });
        await p.waitFor(new RegExp(`paused after ${step}`));
        p.child.kill("SIGKILL");
        await p.done;
        const store = open(location);
        assert.equal(
          text((await store.get("streams/stable.json"))?.body),
          fixtureText("fcos-stable-stream-2020.json"),
          "old pointer still serving",
        );
        assert.equal(
          text((await store.get("streams/stable/20260721.json"))?.body),
          fixtureText("fcos-stable-stream.json"),
          "pinned copy whole",
        );
        const fsck = await runBootstream(["fsck", "--store", location]);
        if (step === "pinned") {
          assert.equal(fsck.code, 1);
          assert.equal(
            fsck.stdout,
            "streams/stable/20260721.json: pinned-not-in-history: pinned copy 20260721 is not listed in streams/stable/history.json\n",
          );
        } else assert.equal(fsck.code, 0, fsck.stdout);
        // Publishing again completes the interrupted work, reusing the pinned copy.
        const again = await runBootstream(["publish", STABLE, "--store", location, "--force"]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, "streams/stable/20260721.json\n");
        assert.equal(
          text((await store.get("streams/stable.json"))?.body),
          fixtureText("fcos-stable-stream.json"),
        );
        assert.equal((await runBootstream(["fsck", "--store", location])).code, 0);
        assert.deepEqual(
          (await store.list("streams/")).filter((k) => /\.(tmp|lock)$/.test(k)),
          [],
        );
      });
    }

    describe("signatures", () => {
      let privateKey: string;
      let publicKey: string;
      let otherPublicKey: string;
      before(async () => {
        const key = await openpgp.generateKey({
          type: "ecc",
          curve: "curve25519Legacy",
          userIDs: [{ name: "bootstream test", email: "test@example.invalid" }],
          format: "armored",
        });
        privateKey = key.privateKey;
        publicKey = key.publicKey;
        otherPublicKey = (
          await openpgp.generateKey({
            type: "ecc",
            curve: "curve25519Legacy",
            userIDs: [{ name: "other" }],
            format: "armored",
          })
        ).publicKey;
      });

      it("signs every published file with a detached .asc that verify accepts", async () => {
        const location = await under.fresh();
        const keyDir = tempDir();
        writeFileSync(join(keyDir, "sign.asc"), privateKey);
        writeFileSync(join(keyDir, "pub.asc"), publicKey);
        writeFileSync(join(keyDir, "other.asc"), otherPublicKey);
        const run = await runBootstream([
          "publish",
          STABLE,
          "--store",
          location,
          "--sign-key",
          join(keyDir, "sign.asc"),
        ]);
        assert.equal(run.code, 0, run.stderr);
        const store = open(location);
        const keys = await store.list("streams/");
        for (const file of [
          "streams/stable.json",
          "streams/stable/20260721.json",
          "streams/stable/history.json",
        ]) {
          assert.ok(keys.includes(`${file}.asc`), `${file}.asc`);
        }
        const fsck = await runBootstream(["fsck", "--store", location, "--key", join(keyDir, "pub.asc")]);
        assert.equal(fsck.code, 0, fsck.stdout);
        // verify works on a file of the store (a local copy for S3).
        const local = tempDir();
        for (const k of ["streams/stable.json", "streams/stable.json.asc"]) {
          writeFileSync(join(local, k.replaceAll("/", "_")), (await store.get(k))?.body ?? new Uint8Array());
        }
        const file = join(local, "streams_stable.json");
        const good = await runBootstream(["verify", file, "--key", join(keyDir, "pub.asc")]);
        assert.equal(good.code, 0, good.stderr);
        assert.match(good.stderr, /good signature from key [0-9A-F]{40}/);
        const wrongKey = await runBootstream(["verify", file, "--key", join(keyDir, "other.asc")]);
        assert.equal(wrongKey.code, 4);
        writeFileSync(file, `${fixtureText("fcos-stable-stream.json")} `);
        const tampered = await runBootstream(["verify", file, "--key", join(keyDir, "pub.asc")]);
        assert.equal(tampered.code, 4);
        assert.match(tampered.stderr, /bad signature/);
      });
    });
  });
}

describe("fsck findings (local directory)", () => {
  it("reports sha256 mismatches, dangling signatures and leftovers", async () => {
    const location = tempDir("bootstream-store-");
    await runBootstream(["publish", STABLE, "--store", location]);
    writeFileSync(join(location, "streams/stable/20260721.json"), "{}\n");
    writeFileSync(join(location, "streams/stable/19990101.json.asc"), "sig");
    writeFileSync(join(location, "streams/stable.json.abc123.tmp"), "partial");
    const run = await runBootstream(["fsck", "--store", location, "--json"]);
    assert.equal(run.code, 1);
    const problems = JSON.parse(run.stdout).map((f: Json) => `${f.key} ${f.problem}`);
    assert.deepEqual(problems.sort(), [
      "streams/stable.json.abc123.tmp leftover-temporary",
      "streams/stable/19990101.json.asc dangling-signature",
      "streams/stable/20260721.json history-sha256-mismatch",
    ]);
  });
});

describe("publish --from-git", () => {
  function git(repo: string, ...args: string[]): string {
    return execFileSync("git", ["-c", "user.name=CI", "-c", "user.email=ci@example.invalid", ...args], {
      cwd: repo,
      encoding: "utf8",
    }).trim();
  }

  for (const under of STORES) {
    it(`publishes each branch once, and again only after it moved (${under.label})`, async () => {
      const location = await under.fresh();
      const repo = tempDir("bootstream-streams-repo-");
      git(repo, "init", "-q", "-b", "stable");
      writeFileSync(join(repo, "stream.json"), fixtureText("fcos-stable-stream-2020.json"));
      git(repo, "add", ".");
      git(repo, "commit", "-q", "-m", "stable");
      git(repo, "checkout", "-q", "-b", "testing");
      const testing = fixtureJson<Json>("fcos-stable-stream-2020.json");
      testing.stream = "testing";
      writeFileSync(join(repo, "stream.json"), `${JSON.stringify(testing, null, 4)}\n`);
      git(repo, "commit", "-q", "-am", "testing");
      const args = [
        "publish",
        "--from-git",
        repo,
        "--branch",
        "stable,testing",
        "--path",
        "stream.json",
        "--store",
        location,
      ];
      const first = await runBootstream(args);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /^stable at [0-9a-f]{12}: published stable as 20200110$/m);
      assert.match(first.stderr, /^testing at [0-9a-f]{12}: published testing as 20200110$/m);
      const second = await runBootstream(args);
      assert.match(second.stderr, /^stable at [0-9a-f]{12}: unchanged since the last publish$/m);
      assert.match(second.stderr, /^testing at [0-9a-f]{12}: unchanged since the last publish$/m);
      git(repo, "checkout", "-q", "stable");
      writeFileSync(join(repo, "stream.json"), fixtureText("fcos-stable-stream.json"));
      git(repo, "commit", "-q", "-am", "bump stable");
      const third = await runBootstream([...args, "--force"]);
      assert.equal(third.code, 0, third.stderr);
      assert.match(third.stderr, /^stable at [0-9a-f]{12}: published stable as 20260721$/m);
      assert.match(third.stderr, /^testing at [0-9a-f]{12}: unchanged since the last publish$/m);
      const store = await openStore(location, location.startsWith("s3://") ? { endpoint: s3Endpoint() } : {});
      assert.equal(
        text((await store.get("streams/stable.json"))?.body),
        fixtureText("fcos-stable-stream.json"),
      );
      const record = JSON.parse(text((await store.get("sync/git.json"))?.body) ?? "{}");
      assert.deepEqual(Object.keys(record.published).sort(), ["stable:stream.json", "testing:stream.json"]);
    });
  }

  it("reports a branch that does not exist, still publishing the others", async () => {
    const location = tempDir("bootstream-store-");
    const repo = tempDir("bootstream-streams-repo-");
    git(repo, "init", "-q", "-b", "stable");
    writeFileSync(join(repo, "stream.json"), fixtureText("fcos-stable-stream.json"));
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "stable");
    const run = await spawnBootstream([
      "publish",
      "--from-git",
      repo,
      "--branch",
      "nope,stable",
      "--path",
      "stream.json",
      "--store",
      location,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /bootstream: nope: no branch nope/);
    assert.match(run.stderr, /stable at [0-9a-f]{12}: published stable as 20260721/);
  });
});
