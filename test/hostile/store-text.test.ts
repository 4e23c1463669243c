/**
 * Text read from a store (lock owners, key names) reaches a terminal through fsck and
 * publish messages: a planted lock or file must not drive it. Real processes.
 */
import assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { spawnBootstream } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fixtures.ts";

test("attack: a stale lock whose recorded host carries an ANSI escape -> fsck prints no control character", async () => {
  const root = tempDir("bootstream-store-text-");
  mkdirSync(join(root, "streams"));
  const lock = join(root, "streams", "stable.json.lock");
  writeFileSync(lock, JSON.stringify({ pid: 999_999, host: "evil\u001b]0;owned\u0007\u001b[31m" }));
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(lock, hourAgo, hourAgo);
  const run = await spawnBootstream(["fsck", "--store", root]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /stale-lock/);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
  assert.doesNotMatch(run.stdout + run.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
});

test("attack: a file in the store whose name carries an escape -> fsck reports it escaped", async () => {
  const root = tempDir("bootstream-store-text-");
  mkdirSync(join(root, "streams"));
  writeFileSync(join(root, "streams", "x\u001b[2Jy.json"), "{}");
  const run = await spawnBootstream(["fsck", "--store", root]);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
  assert.doesNotMatch(run.stdout + run.stderr, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
});
