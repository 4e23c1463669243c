/**
 * bootstream mirror from a real origin server on 127.0.0.1 into a directory, which is then
 * served by a plain static server (and bootstream serve for the stream) and downloaded from.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { runBootstream, startBootstream } from "./helpers/cli.ts";
import { tempDir } from "./helpers/fixtures.ts";
import { type StaticServer, startStaticServer } from "./helpers/static-server.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep JSON.
type Json = Record<string, any>;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("bootstream mirror", () => {
  const originRoot = tempDir("bootstream-origin-");
  let origin: StaticServer;
  let streamFile: string;
  let keyFile: string;
  const bodies = new Map<string, Buffer>();

  before(async () => {
    origin = await startStaticServer(originRoot, { delayMs: 30 });
    const key = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "release" }],
      format: "object",
    });
    keyFile = join(originRoot, "..", `key-${Date.now()}.asc`);
    writeFileSync(keyFile, key.publicKey.armor());
    const put = async (path: string, size: number) => {
      const body = randomBytes(size);
      bodies.set(path, body);
      mkdirSync(dirname(join(originRoot, path)), { recursive: true });
      writeFileSync(join(originRoot, path), body);
      const message = await openpgp.createMessage({ binary: body });
      writeFileSync(
        join(originRoot, `${path}.sig`),
        (await openpgp.sign({
          message,
          signingKeys: key.privateKey,
          detached: true,
          format: "binary",
        })) as Uint8Array,
      );
      return { location: `${origin.url}${path}`, signature: `${origin.url}${path}.sig`, sha256: sha(body) };
    };
    const b = "/prod/streams/test/builds/1.0";
    const stream = {
      stream: "test",
      metadata: { "last-modified": "2026-01-01T00:00:00Z" },
      architectures: {
        aarch64: {
          artifacts: {
            metal: {
              release: "1.0",
              formats: { iso: { disk: await put(`${b}/aarch64/live.aarch64.iso`, 50_000) } },
            },
          },
          images: {},
        },
        x86_64: {
          artifacts: {
            metal: {
              release: "1.0",
              formats: {
                iso: { disk: await put(`${b}/x86_64/live.x86_64.iso`, 400_000) },
                pxe: {
                  kernel: await put(`${b}/x86_64/live-kernel.x86_64`, 60_000),
                  initramfs: await put(`${b}/x86_64/live-initramfs.x86_64.img`, 70_000),
                  rootfs: await put(`${b}/x86_64/live-rootfs.x86_64.img`, 300_000),
                },
              },
            },
            qemu: {
              release: "1.0",
              formats: { "qcow2.xz": { disk: await put(`${b}/x86_64/qemu.x86_64.qcow2.xz`, 80_000) } },
            },
          },
          images: { aws: { regions: { "us-east-1": { release: "1.0", image: "ami-1" } } } },
        },
      },
    };
    streamFile = join(originRoot, "..", `test-stream-${Date.now()}.json`);
    writeFileSync(streamFile, `${JSON.stringify(stream, null, 4)}\n`);
  });
  after(() => origin.close());

  const BASE = "https://mirror.internal/coreos/";
  const mirror = (dir: string, ...args: string[]) =>
    runBootstream(["mirror", streamFile, "--to", dir, "--base-url", BASE, ...args]);

  it("copies the selected artifacts and signatures, laid out like the origin, and rewrites the stream", async () => {
    const dir = tempDir("bootstream-mirror-");
    const run = await mirror(dir, "-a", "x86_64", "-p", "metal", "-f", "iso,pxe", "-j", "3");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${join(dir, "streams", "test.json")}\n`);
    for (const path of [
      "live.x86_64.iso",
      "live-kernel.x86_64",
      "live-initramfs.x86_64.img",
      "live-rootfs.x86_64.img",
    ]) {
      const local = join(dir, "prod/streams/test/builds/1.0/x86_64", path);
      assert.ok(
        readFileSync(local).equals(bodies.get(`/prod/streams/test/builds/1.0/x86_64/${path}`) as Buffer),
        path,
      );
      assert.ok(existsSync(`${local}.sig`), `${path}.sig`);
    }
    assert.equal(
      existsSync(join(dir, "prod/streams/test/builds/1.0/x86_64/qemu.x86_64.qcow2.xz")),
      false,
      "not selected",
    );
    assert.ok(
      origin.maxInFlight >= 2 && origin.maxInFlight <= 3,
      `parallel, at most -j: ${origin.maxInFlight}`,
    );
    const mirrored = JSON.parse(readFileSync(join(dir, "streams/test.json"), "utf8")) as Json;
    assert.deepEqual(Object.keys(mirrored.architectures), ["x86_64"]);
    assert.deepEqual(Object.keys(mirrored.architectures.x86_64.artifacts), ["metal"]);
    assert.equal(
      mirrored.architectures.x86_64.artifacts.metal.formats.iso.disk.location,
      `${BASE}prod/streams/test/builds/1.0/x86_64/live.x86_64.iso`,
    );
    assert.equal(
      mirrored.architectures.x86_64.artifacts.metal.formats.pxe.rootfs.signature,
      `${BASE}prod/streams/test/builds/1.0/x86_64/live-rootfs.x86_64.img.sig`,
    );
    assert.equal(
      mirrored.architectures.x86_64.images.aws.regions["us-east-1"].image,
      "ami-1",
      "cloud images kept",
    );
    assert.equal((await runBootstream(["validate", join(dir, "streams/test.json")])).code, 0);
    assert.equal((await runBootstream(["fmt", "--check", join(dir, "streams/test.json")])).code, 0);
  });

  it("skips what it already verified on a rerun, and resumes a partial file", async () => {
    const dir = tempDir("bootstream-mirror-");
    assert.equal((await mirror(dir, "-a", "x86_64", "-f", "iso,pxe")).code, 0);
    origin.requests.length = 0;
    const again = await mirror(dir, "-a", "x86_64", "-f", "iso,pxe");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr.match(/^skipped: /gm)?.length, 4);
    assert.equal(origin.requests.length, 0, "nothing fetched again");
    // An interrupted transfer: the file is back to a partial copy.
    const iso = join(dir, "prod/streams/test/builds/1.0/x86_64/live.x86_64.iso");
    const body = readFileSync(iso);
    rmSync(iso);
    writeFileSync(`${iso}.part`, body.subarray(0, 100_000));
    const resumed = await mirror(dir, "-a", "x86_64", "-f", "iso,pxe");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(
      origin.requests.filter((r) => r.path.endsWith("live.x86_64.iso")).map((r) => r.range),
      ["bytes=100000-"],
    );
    assert.ok(readFileSync(iso).equals(body));
  });

  it("refuses a file whose digest does not match, keeping nothing of it", async () => {
    const dir = tempDir("bootstream-mirror-");
    const path = "/prod/streams/test/builds/1.0/aarch64/live.aarch64.iso";
    const good = bodies.get(path) as Buffer;
    writeFileSync(join(originRoot, path), Buffer.concat([good.subarray(0, 10), Buffer.from("tampered")]));
    try {
      const run = await mirror(dir, "-a", "aarch64");
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /sha256 of .*live\.aarch64\.iso is [0-9a-f]{64}, the stream says/);
      assert.equal(existsSync(join(dir, path.slice(1))), false);
      assert.equal(existsSync(join(dir, `${path.slice(1)}.part`)), false);
    } finally {
      writeFileSync(join(originRoot, path), good);
    }
  });

  it("writes only the rewritten stream with --metadata-only", async () => {
    const dir = tempDir("bootstream-mirror-");
    const run = await mirror(dir, "--metadata-only");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(existsSync(join(dir, "prod")), false);
    const mirrored = JSON.parse(readFileSync(join(dir, "streams/test.json"), "utf8")) as Json;
    assert.ok(mirrored.architectures.aarch64.artifacts.metal.formats.iso.disk.location.startsWith(BASE));
  });

  it("produces a directory a static server serves, from which download works with the signatures", async () => {
    const dir = tempDir("bootstream-mirror-");
    const site = await startStaticServer(dir);
    try {
      const run = await runBootstream([
        "mirror",
        streamFile,
        "--to",
        dir,
        "--base-url",
        `${site.url}/`,
        "-a",
        "x86_64",
        "-p",
        "metal",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const out = tempDir();
      const dl = await runBootstream([
        "download",
        "-s",
        `${site.url}/streams/test.json`,
        "-a",
        "x86_64",
        "-p",
        "metal",
        "-f",
        "pxe",
        "-C",
        out,
        "--key",
        keyFile,
      ]);
      assert.equal(dl.code, 0, dl.stderr);
      assert.equal(dl.stdout.trimEnd().split("\n").length, 3);
      // bootstream serve answers for the mirrored stream too.
      const serve = startBootstream(["serve", "--store", dir, "--port", "0", "--log-level", "warn"]);
      const url = await serve.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 20_000, "stdout");
      const res = await fetch(`${url}/streams/test.json`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), readFileSync(join(dir, "streams/test.json"), "utf8"));
      serve.child.kill("SIGTERM");
      assert.equal((await serve.done).code, 143);
    } finally {
      await site.close();
    }
  });

  it("shows one progress bar for all transfers on a terminal instead of a line per file", async () => {
    const dir = tempDir("bootstream-mirror-");
    const run = await runBootstream(
      ["mirror", streamFile, "--to", dir, "--base-url", BASE, "-a", "x86_64", "-p", "metal"],
      { tty: true },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /mirror \(4 files\) \[[█░]+\] 100% /);
    assert.doesNotMatch(run.stderr, /^downloaded: /m);
  });

  it("says what exists when the selection matches nothing", async () => {
    const run = await mirror(tempDir(), "-p", "gcp");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no artifact of the stream matches the selection/);
  });
});
