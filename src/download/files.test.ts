import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { link, lstat, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BootstreamError } from "../errors.ts";
import { isOurs, openPart, prepareDirectory, readOwnFile, verifiedFile } from "./files.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bootstream-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("prepareDirectory", () => {
  test("makes missing parents and accepts an existing directory", async () => {
    const target = join(dir, "a", "b", "c");
    await prepareDirectory(target);
    assert.ok((await lstat(target)).isDirectory());
    await prepareDirectory(target);
  });

  test("a path that is a file is USAGE with the path", async () => {
    const file = join(dir, "plain");
    await writeFile(file, "x");
    await assert.rejects(prepareDirectory(file), (e: unknown) => {
      assert.ok(e instanceof BootstreamError);
      assert.equal(e.code, "USAGE");
      assert.equal(e.path, file);
      return true;
    });
    await assert.rejects(prepareDirectory(join(file, "below")), (e: unknown) => {
      assert.ok(e instanceof BootstreamError);
      assert.equal(e.code, "USAGE");
      return true;
    });
  });
});

describe("verifiedFile and readOwnFile trust only our own regular files", () => {
  test("a regular file with the right digest is verified; a wrong digest or a missing file is not", async () => {
    const file = join(dir, "own.img");
    await writeFile(file, "bytes");
    assert.equal(await verifiedFile(file, sha("bytes")), true);
    assert.equal(await verifiedFile(file, sha("other")), false);
    assert.equal(await verifiedFile(join(dir, "missing"), sha("bytes")), false);
    assert.deepEqual(Buffer.from((await readOwnFile(file, 5)) ?? []), Buffer.from("bytes"));
    assert.equal(await readOwnFile(file, 4), undefined);
  });

  test("a symbolic link to a matching file is not trusted", async () => {
    const target = join(dir, "target.img");
    await writeFile(target, "bytes");
    const linkPath = join(dir, "symlink.img");
    await symlink(target, linkPath);
    assert.equal(await verifiedFile(linkPath, sha("bytes")), false);
    assert.equal(await readOwnFile(linkPath, 100), undefined);
  });

  test("a file with a second hard link is not trusted", async () => {
    const first = join(dir, "hard1.img");
    await writeFile(first, "bytes");
    await link(first, join(dir, "hard2.img"));
    assert.equal(await verifiedFile(first, sha("bytes")), false);
    assert.equal(await readOwnFile(first, 100), undefined);
  });

  test("a directory is not a file", async () => {
    assert.equal(await verifiedFile(dir, sha("")), false);
  });
});

describe("openPart", () => {
  test("resume: our own .part is appended to, its bytes already hashed", async () => {
    const part = join(dir, "resume.part");
    await writeFile(part, "head-");
    const hash = createHash("sha256");
    const opened = await openPart(part, true, hash);
    try {
      assert.equal(opened.offset, 5);
      await opened.handle.write("tail");
    } finally {
      await opened.handle.close();
    }
    hash.update("tail");
    assert.equal(await readFile(part, "utf8"), "head-tail");
    assert.equal(hash.digest("hex"), sha("head-tail"));
  });

  test("no resume: an existing .part is replaced by an empty one", async () => {
    const part = join(dir, "fresh.part");
    await writeFile(part, "old");
    const hash = createHash("sha256");
    const opened = await openPart(part, false, hash);
    await opened.handle.close();
    assert.equal(opened.offset, 0);
    assert.equal(await readFile(part, "utf8"), "");
    assert.equal(hash.digest("hex"), sha(""));
  });

  test("a planted symbolic link is replaced, never written through", async () => {
    const victim = join(dir, "victim");
    await writeFile(victim, "keep me");
    const part = join(dir, "planted.part");
    await symlink(victim, part);
    const opened = await openPart(part, true, createHash("sha256"));
    try {
      assert.equal(opened.offset, 0);
      await opened.handle.write("new");
    } finally {
      await opened.handle.close();
    }
    assert.equal(await readFile(victim, "utf8"), "keep me");
    assert.ok((await lstat(part)).isFile());
    assert.equal(await readFile(part, "utf8"), "new");
  });

  test("a hard-linked .part is replaced, the other link keeps its bytes", async () => {
    const other = join(dir, "other-link");
    await writeFile(other, "shared");
    const part = join(dir, "hardlinked.part");
    await link(other, part);
    const opened = await openPart(part, true, createHash("sha256"));
    await opened.handle.write("x");
    await opened.handle.close();
    assert.equal(opened.offset, 0);
    assert.equal(await readFile(other, "utf8"), "shared");
    assert.equal(await readFile(part, "utf8"), "x");
  });

  test("isOurs: true for the file we opened, false once the entry is swapped or gone", async () => {
    const part = join(dir, "ours.part");
    const opened = await openPart(part, false, createHash("sha256"));
    await opened.handle.close();
    assert.equal(await isOurs(part, opened), true);
    const swap = join(dir, "swap");
    await writeFile(swap, "other");
    await rename(swap, part);
    assert.equal(await isOurs(part, opened), false);
    await rm(part);
    assert.equal(await isOurs(part, opened), false);
  });
});
