/**
 * Runs the bootstream executable as another, unprivileged user: what a file's mode means only
 * shows when the caller is not root. The checkout may sit where that user cannot go (a clone
 * under /root, mode 0700), so the process runs in a private mount namespace in which the
 * checkout is bind-mounted at a directory anyone may enter; nothing outside the namespace
 * changes. Needs root, as every test that hands files to another user does.
 */
import { spawn } from "node:child_process";
import { chmodSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { BIN } from "./cli.ts";
import { tempDir } from "./fixtures.ts";

const CHECKOUT = fileURLToPath(new URL("../../", import.meta.url));

export interface OtherUserRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnAsUser(
  args: readonly string[],
  user: { uid: number; gid: number; home: string },
): Promise<OtherUserRun> {
  const mountPoint = tempDir("bootstream-checkout-");
  chmodSync(mountPoint, 0o755);
  const bin = join(mountPoint, relative(CHECKOUT, BIN));
  // $1 checkout, $2 mount point, then the command; `exec` so the exit status is bootstream's.
  const script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"';
  const command = [
    "setpriv",
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--clear-groups",
    process.execPath,
    bin,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", script, "sh", CHECKOUT, mountPoint, ...command],
      {
        cwd: dirname(mountPoint),
        env: { ...process.env, HOME: user.home },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
