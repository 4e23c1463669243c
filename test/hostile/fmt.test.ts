/**
 * `fmt` rewrites only what it owns: the document's bytes. A rewritten file keeps its owner,
 * group and mode; a symlink stays a link to the rewritten file; a hard-linked file, a FIFO,
 * a device or a directory is refused with one line; a full disk leaves the file as it was and
 * no temporary file. Each attack runs the real executable.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { spawnBootstream } from "../helpers/cli.ts";
import { fixtureJson, tempDir } from "../helpers/fixtures.ts";
import { fillUp, smallTmpfs } from "../helpers/full-disk.ts";
import { spawnAsUser } from "../helpers/other-user.ts";

/** A stream without its final newline: valid, but not canonical, so fmt rewrites it (~12 KB). */
const ORIGINAL = JSON.stringify(fixtureJson("fcos-stable-stream-2020.json"), null, 4);

function compactFile(dir: string, name = "stable.json"): string {
  const path = join(dir, name);
  writeFileSync(path, ORIGINAL);
  return path;
}

function isCanonical(path: string): boolean {
  const text = readFileSync(path, "utf8");
  return text !== ORIGINAL && text.startsWith('{\n    "stream": "stable"') && text.endsWith("}\n");
}

/** Names left in `dir` that are neither `keep` nor expected: temporary files above all. */
function strays(dir: string, keep: string[]): string[] {
  return readdirSync(dir).filter((n) => !keep.includes(n));
}

const fmt = (args: string[], cwd?: string) =>
  spawnBootstream(["fmt", ...args], { timeoutMs: 20_000, ...(cwd ? { cwd } : {}) });

test("attack: fmt a file owned by 1234:5678 with mode 0640 -> owner, group and mode are kept", async () => {
  const dir = tempDir();
  const file = compactFile(dir);
  chownSync(file, 1234, 5678);
  chmodSync(file, 0o640);
  const run = await fmt([file]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(isCanonical(file));
  const info = statSync(file);
  assert.deepEqual([info.uid, info.gid, info.mode & 0o7777], [1234, 5678, 0o640]);
  assert.deepEqual(strays(dir, ["stable.json"]), []);
});

test("attack: fmt a group-writable 0664 file under umask 022 -> the mode stays 0664", async () => {
  const dir = tempDir();
  const file = compactFile(dir);
  chmodSync(file, 0o664);
  const run = await fmt([file]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(isCanonical(file));
  assert.equal(statSync(file).mode & 0o7777, 0o664);
});

test("attack: fmt a relative symlink -> the target is rewritten and the link stays a link", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "real"));
  const target = compactFile(join(dir, "real"));
  const link = join(dir, "link.json");
  symlinkSync("real/stable.json", link);
  const run = await fmt([link]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), "real/stable.json");
  assert.ok(isCanonical(target));
  // The temporary file was made (and renamed) in the target's directory.
  assert.deepEqual(strays(join(dir, "real"), ["stable.json"]), []);
  assert.deepEqual(strays(dir, ["real", "link.json"]), []);
});

test("attack: fmt an absolute symlink into another directory -> the target is rewritten there, the link kept", async () => {
  const elsewhere = tempDir();
  const target = compactFile(elsewhere);
  const dir = tempDir();
  const link = join(dir, "stable.json");
  symlinkSync(target, link);
  const run = await fmt([link]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(readlinkSync(link), target);
  assert.ok(isCanonical(target));
  assert.deepEqual(strays(elsewhere, ["stable.json"]), []);
  assert.deepEqual(strays(dir, ["stable.json"]), []);
});

test("attack: fmt a chain of symlinks -> only the final file is rewritten, every link kept", async () => {
  const a = tempDir();
  const b = tempDir();
  const target = compactFile(b, "final.json");
  symlinkSync(target, join(b, "middle.json"));
  symlinkSync("../".repeat(8) + join(b, "middle.json").slice(1), join(a, "first.json"));
  const run = await fmt([join(a, "first.json")]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(lstatSync(join(a, "first.json")).isSymbolicLink());
  assert.ok(lstatSync(join(b, "middle.json")).isSymbolicLink());
  assert.ok(isCanonical(target));
  assert.deepEqual(strays(b, ["final.json", "middle.json"]), []);
});

test("attack: fmt a file with two hard links -> refused in one line naming the links, both names unchanged", async () => {
  const dir = tempDir();
  const file = compactFile(dir);
  const other = join(dir, "other.json");
  linkSync(file, other);
  const run = await fmt([file]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^bootstream: .*stable\.json has 2 hard links, .* -o/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  assert.equal(readFileSync(file, "utf8"), ORIGINAL);
  assert.equal(statSync(file).ino, statSync(other).ino);
  assert.equal(statSync(file).nlink, 2);
  // -o still formats it, for the user to copy over every name.
  const out = join(tempDir(), "out.json");
  assert.equal((await fmt(["-o", out, file])).code, 0);
  assert.ok(isCanonical(out));
});

test("attack: fmt a FIFO in place -> one-line refusal at once, not a wait for a writer", async () => {
  const dir = tempDir();
  const fifo = join(dir, "stable.json");
  execFileSync("mkfifo", [fifo]);
  const started = Date.now();
  const run = await fmt([fifo]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^bootstream: .*stable\.json is a FIFO, not a regular file/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  assert.ok(Date.now() - started < 10_000);
  assert.deepEqual(strays(dir, ["stable.json"]), []);
});

test("attack: fmt a character device in place -> one-line refusal, nothing read", async () => {
  const started = Date.now();
  const run = await fmt(["/dev/zero"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^bootstream: \/dev\/zero is a character device, not a regular file/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  assert.ok(Date.now() - started < 10_000);
});

test("attack: fmt a directory in place -> one-line refusal", async () => {
  const dir = tempDir();
  const run = await fmt([dir]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /is a directory/);
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
  assert.deepEqual(readdirSync(dir), []);
});

test("attack: fmt -o OUT where OUT is a planted symlink -> the link is replaced, its target untouched", async () => {
  const victimDir = tempDir();
  const victim = join(victimDir, "passwd");
  writeFileSync(victim, "root:x:0:0\n");
  const dir = tempDir();
  const input = compactFile(dir, "in.json");
  const out = join(dir, "out.json");
  symlinkSync(victim, out);
  const run = await fmt(["-o", out, input]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(readFileSync(victim, "utf8"), "root:x:0:0\n");
  assert.ok(lstatSync(out).isFile());
  assert.ok(isCanonical(out));
  assert.deepEqual(strays(dir, ["in.json", "out.json"]), []);
});

test("attack: fmt run by a user who cannot give the file back its owner -> refused, file unchanged", async () => {
  const dir = tempDir();
  chmodSync(dir, 0o777);
  const file = compactFile(dir);
  chownSync(file, 1234, 5678);
  chmodSync(file, 0o666);
  // As uid 4321 the directory is writable (a rename would work) but chown to 1234 is not allowed.
  const { code, stderr } = await spawnAsUser(["fmt", file], { uid: 4321, gid: 4321, home: dir });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /stable\.json belongs to 1234:5678/);
  assert.equal(readFileSync(file, "utf8"), ORIGINAL);
  assert.deepEqual([statSync(file).uid, statSync(file).gid], [1234, 5678]);
  assert.deepEqual(strays(dir, ["stable.json"]), []);
});

/** A 64 KiB tmpfs: a full disk that only this file fills. */
const disk = smallTmpfs();

test("attack: fmt in place on a full disk -> IO error, the file as it was, no *.tmp", async () => {
  const full = disk.path();
  const dir = join(full, "in-place");
  mkdirSync(dir);
  const file = compactFile(dir);
  fillUp(full, 4096);
  const run = await fmt([file]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /no space left/);
  assert.equal(readFileSync(file, "utf8"), ORIGINAL);
  assert.deepEqual(strays(dir, ["stable.json"]), []);
});

test("attack: fmt -o into a full disk -> IO error, no output and no *.tmp", async () => {
  const full = disk.path();
  const dir = join(full, "output");
  mkdirSync(dir);
  const input = compactFile(tempDir());
  fillUp(full, 4096);
  const run = await fmt(["-o", join(dir, "out.json"), input]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /no space left/);
  assert.deepEqual(readdirSync(dir), []);
});
