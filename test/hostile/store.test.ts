/**
 * A directory store that holds links, FIFOs and odd names: nothing is read or written
 * through a link, a FIFO cannot hang a reader, and keys are checked before any path is built.
 * Publishing into such a store (a real process) writes nothing outside it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FsStore } from "../../src/storage/index.ts";
import { spawnBootstream } from "../helpers/cli.ts";
import { fixturePath, tempDir } from "../helpers/fixtures.ts";

const STABLE = fixturePath("fcos-stable-stream.json");
const text = (s: string) => new TextEncoder().encode(s);

/** A store root beside an `outside` directory holding a secret. */
function layout(): { root: string; outside: string; secret: string } {
  const parent = tempDir("bootstream-hostile-links-");
  const root = join(parent, "store");
  const outside = join(parent, "outside");
  mkdirSync(join(root, "streams"), { recursive: true });
  mkdirSync(outside);
  const secret = join(outside, "secret.json");
  writeFileSync(secret, '{"secret": true}\n');
  return { root, outside, secret };
}

describe("directory store never follows links", () => {
  it("attack: streams/stable.json -> a file outside the store -> get refuses with IO, never the target's bytes", async () => {
    const { root, secret } = layout();
    symlinkSync(secret, join(root, "streams/stable.json"));
    const store = new FsStore(root);
    await assert.rejects(store.get("streams/stable.json"), { code: "IO" });
    await assert.rejects(store.head("streams/stable.json"), { code: "IO" });
  });

  it("attack: streams -> a directory outside the store -> reads refuse, writes write nothing outside", async () => {
    const { root, outside, secret } = layout();
    rmSync(join(root, "streams"), { recursive: true });
    symlinkSync(outside, join(root, "streams"));
    const store = new FsStore(root);
    await assert.rejects(store.get("streams/secret.json"), { code: "IO" });
    await assert.rejects(store.putNew("streams/new.json", text("x")), { code: "IO" });
    await assert.rejects(store.putIfMatch("streams/secret.json", text("x"), null), { code: "IO" });
    await store.delete("streams/secret.json").catch(() => undefined);
    assert.deepEqual(readdirSync(outside), ["secret.json"]);
    assert.equal(readFileSync(secret, "utf8"), '{"secret": true}\n');
  });

  it("attack: publish into a store whose streams/stable is a link outside -> fails, nothing written outside", async () => {
    const { root, outside } = layout();
    symlinkSync(outside, join(root, "streams/stable"));
    const run = await spawnBootstream(["publish", STABLE, "--store", root], { timeoutMs: 120_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /streams\/stable is a symbolic link/);
    assert.deepEqual(readdirSync(outside), ["secret.json"]);
  });

  it("attack: the pointer is a link to a file outside -> publish refuses, the target is untouched", async () => {
    const { root, secret } = layout();
    symlinkSync(secret, join(root, "streams/stable.json"));
    const run = await spawnBootstream(["publish", STABLE, "--store", root], { timeoutMs: 120_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(readFileSync(secret, "utf8"), '{"secret": true}\n');
  });

  it("attack: a FIFO where the pointer should be -> get fails at once (IO) instead of hanging", async () => {
    const { root } = layout();
    execFileSync("mkfifo", [join(root, "streams/stable.json")]);
    const store = new FsStore(root);
    const started = Date.now();
    await assert.rejects(store.get("streams/stable.json"), { code: "IO" });
    assert.ok(Date.now() - started < 5000);
  });

  it("attack: keys with control characters, reserved suffixes or 300-byte segments -> refused before any path is built", async () => {
    const store = new FsStore(layout().root);
    for (const key of [
      "streams/a\nb.json",
      "streams/x.json.lock",
      "streams/x.json.tmp",
      `streams/${"a".repeat(300)}.json`,
    ]) {
      await assert.rejects(store.putNew(key, text("x")), { code: "USAGE" }, JSON.stringify(key));
    }
  });
});
