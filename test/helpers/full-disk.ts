/**
 * A full disk that only one test file fills: a 64 KiB tmpfs mounted before the file's tests
 * and unmounted after (the suite runs as root in CI; elsewhere the tests that need it fail
 * and say why).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { tempDir } from "./fixtures.ts";

export interface SmallDisk {
  /** The mount point; fails the calling test when the mount was refused. */
  path(): string;
}

/** Registers before/after hooks in the current suite (or file) that mount and unmount it. */
export function smallTmpfs(prefix = "bootstream-full-"): SmallDisk {
  let mounted: string | undefined;
  let refused = "";
  before(() => {
    const dir = tempDir(prefix);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "pipe" });
      mounted = dir;
    } catch (error) {
      refused = String((error as { stderr?: Buffer }).stderr ?? error).trim();
    }
  });
  after(() => {
    if (mounted !== undefined) execFileSync("umount", [mounted]);
  });
  return {
    path() {
      assert.ok(mounted !== undefined, `a 64k tmpfs is needed (the suite runs as root): ${refused}`);
      return mounted;
    },
  };
}

/** Fills the file system at `dir` until `leave` bytes are free (less than any document here). */
export function fillUp(dir: string, leave: number): void {
  rmSync(join(dir, "filler"), { force: true });
  const { bavail, bsize } = statfsSync(dir);
  writeFileSync(join(dir, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - leave)));
}
