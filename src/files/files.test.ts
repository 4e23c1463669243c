/** Unit tests of the confinement and no-follow primitives every writer builds on. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { link, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isStreamName } from "../schema/names.ts";
import { resolveInside } from "./confine.ts";
import { createExclusive, openForAppend, openForReadNoFollow, removeEntry } from "./open.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bootstream-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

test("resolveInside keeps plain names under the root", () => {
  assert.equal(resolveInside("/srv/m", ["a", "b.iso"]), "/srv/m/a/b.iso");
});

test("resolveInside refuses every way out of the root", () => {
  for (const segments of [
    [".."],
    ["a", "..", "..", "x"],
    ["."],
    [""],
    ["a/b"],
    ["/etc"],
    ["a\\..\\b"],
    ["x\u0000y"],
    ["line\nbreak"],
    ["esc\u001b[31m"],
    ["del\u007f"],
    ["c1\u0085"],
    ["a".repeat(256)],
    [],
  ]) {
    assert.equal(
      code(() => resolveInside("/srv/m", segments)),
      "INVALID_DOCUMENT",
      JSON.stringify(segments),
    );
  }
  assert.equal(
    code(() => resolveInside("/srv/m", [".."], { code: "USAGE" })),
    "USAGE",
  );
});

test("stream names are one strict pattern", () => {
  for (const ok of ["stable", "testing-devel", "rhcos-4.16", "a", "4", "next_devel"])
    assert.ok(isStreamName(ok), ok);
  for (const bad of [
    "",
    "..",
    "../x",
    "Stable",
    "-x",
    "x-",
    "x.",
    ".x",
    "a..b",
    "a/b",
    "a b",
    "é",
    "a".repeat(65),
  ])
    assert.ok(!isStreamName(bad), bad);
});

test("createExclusive never writes through a symlink, even a dangling one", async () => {
  const target = join(dir, "victim");
  await writeFile(target, "precious");
  await symlink(target, join(dir, "out.part"));
  await symlink(join(dir, "nowhere"), join(dir, "dangling.part"));
  await assert.rejects(createExclusive(join(dir, "out.part")), { code: "IO" });
  await assert.rejects(createExclusive(join(dir, "dangling.part")), { code: "IO" });
  assert.equal(await readFile(target, "utf8"), "precious");
  await assert.rejects(readFile(join(dir, "nowhere")), { code: "ENOENT" });
});

test("openForAppend refuses symlinks and files with other hard links", async () => {
  const target = join(dir, "outside");
  await writeFile(target, "keep");
  await symlink(target, join(dir, "sym.part"));
  await link(target, join(dir, "hard.part"));
  await assert.rejects(openForAppend(join(dir, "sym.part")), { code: "IO" });
  await assert.rejects(openForAppend(join(dir, "hard.part")), { code: "IO" });
  assert.equal(await openForAppend(join(dir, "absent.part")), undefined);
  await writeFile(join(dir, "own.part"), "ab");
  const handle = await openForAppend(join(dir, "own.part"));
  await handle?.write("c");
  await handle?.close();
  assert.equal(await readFile(join(dir, "own.part"), "utf8"), "abc");
  assert.equal(await readFile(target, "utf8"), "keep");
});

test("openForReadNoFollow refuses a symlink and removeEntry removes the link, not its target", async () => {
  const target = join(dir, "secret");
  await writeFile(target, "s");
  await symlink(target, join(dir, "done.iso"));
  await assert.rejects(openForReadNoFollow(join(dir, "done.iso")), { code: "IO" });
  await removeEntry(join(dir, "done.iso"));
  assert.equal(await readFile(target, "utf8"), "s");
  assert.equal(await openForReadNoFollow(join(dir, "done.iso")), undefined);
});

test("openForReadNoFollow refuses a FIFO without waiting for a writer", async () => {
  const fifo = join(dir, "planted.fifo");
  execFileSync("mkfifo", [fifo]);
  await assert.rejects(openForReadNoFollow(fifo), { code: "IO" });
});
