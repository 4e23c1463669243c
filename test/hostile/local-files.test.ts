/**
 * Files named on the command line (keys, policies, token files) are read with a cap, so a
 * device or an endless FIFO cannot fill memory. Real processes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnBootstream } from "../helpers/cli.ts";

const STREAM = "examples/fcos-stable.json";

for (const [what, args] of [
  ["public key", ["verify", STREAM, "--key", "/dev/zero"]],
  ["public key", ["verify", STREAM, "--key", "/dev/urandom"]],
  ["policy", ["publish", STREAM, "--store", "/nonexistent-bootstream-store", "--policy", "/dev/zero"]],
  ["token file", ["serve", "--store", "/nonexistent-bootstream-store", "--token-file", "/dev/zero"]],
] as const) {
  test(`attack: ${args[0]} given ${args.at(-1)} as its ${what} -> refused at the cap, exit 2`, async () => {
    const r = await spawnBootstream([...args], { timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`is larger than 4 MiB, the limit for a ${what}`));
  });
}
