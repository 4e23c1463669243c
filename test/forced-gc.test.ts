/**
 * The forced young-generation collections that keep a download's memory flat
 * (src/download/memory.ts) are the command's choice, not the library's: importing and using the
 * library never sets V8's --expose-gc, the bin turns it on, and BOOTSTREAM_NO_FORCED_GC=1 turns
 * it off. Observed from outside, through V8's own --trace-gc log ("testing" marks a forced one).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BIN } from "./helpers/cli.ts";
import { tempDir } from "./helpers/fixtures.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const body = randomBytes(12 * 1024 * 1024);
const sha256 = createHash("sha256").update(body).digest("hex");

/** `bootstream download -u URL` through the real bin under --trace-gc: the number of forced collections. */
function forcedCollections(url: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--trace-gc", BIN, "download", "-u", url, "--sha256", sha256, "--insecure", "-C", tempDir()],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`download failed (${code}): ${err}`));
      else resolve(out.split("\n").filter((l) => /Scavenge.* testing;/.test(l)).length);
    });
  });
}

describe("forced garbage collection", () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((_req, res) => res.writeHead(200, { "content-length": body.length }).end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/image.raw`;
  });
  after(() => server.close());

  it("the bin forces young collections while a download streams", async () => {
    assert.ok((await forcedCollections(url, {})) >= 2);
  });

  it("BOOTSTREAM_NO_FORCED_GC=1 switches them off", async () => {
    assert.equal(await forcedCollections(url, { BOOTSTREAM_NO_FORCED_GC: "1" }), 0);
  });

  it("the library alone never exposes gc, even while it streams", () => {
    const script = `
      import { runInNewContext } from "node:vm";
      await import("./src/index.ts");
      await import("./src/client.ts");
      const { memoryKeeper, forcedGcEnabled } = await import("./src/download/memory.ts");
      const keep = memoryKeeper();
      for (let i = 0; i < 64; i++) keep(1024 * 1024);
      console.log(forcedGcEnabled(), runInNewContext("typeof gc"));`;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(out.trim(), "false undefined");
  });
});
