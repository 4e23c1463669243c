/**
 * `publish --from-git` against a hostile git server: git's own HTTP client waits forever on
 * a silent peer, so the clone has a deadline. Real git, real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { publishFromGit } from "../../src/publish/git-sync.ts";
import { FsStore } from "../../src/storage/fs.ts";

let server: Server;
let url: string;
let storeDir: string;
const sockets = new Set<Socket>();

before(async () => {
  server = createServer(() => {}); // reads every request, answers none
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/streams.git`;
  storeDir = await mkdtemp(join(tmpdir(), "bootstream-git-store-"));
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(storeDir, { recursive: true, force: true });
});

test("attack: git server accepts and never answers -> clone ends with TIMEOUT, no temporary clone left", async () => {
  const before = (await readdir(tmpdir())).filter(
    (n) => n.startsWith("bootstream-git-") && !storeDir.endsWith(n),
  );
  const started = Date.now();
  await assert.rejects(
    publishFromGit(new FsStore(storeDir), {
      repo: url,
      branches: ["stable"],
      path: "stream.json",
      cloneTimeoutMs: 1500,
    }),
    (error: { code?: string; message?: string }) => {
      assert.equal(error.code, "TIMEOUT");
      assert.match(
        error.message ?? "",
        /cannot clone http:\/\/127\.0\.0\.1:\d+\/streams\.git: no complete answer within 2 s/,
      );
      return true;
    },
  );
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  const afterNames = (await readdir(tmpdir())).filter(
    (n) => n.startsWith("bootstream-git-") && !storeDir.endsWith(n),
  );
  assert.deepEqual(afterNames.sort(), before.sort());
});
