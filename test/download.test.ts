/**
 * bootstream download against a real HTTP server on 127.0.0.1 that misbehaves on purpose:
 * no Range support, a connection dropped mid-body, 503s, a redirect, a 404, a wrong digest,
 * a wrong signature. Keys are generated here; artifacts are random bytes compressed with
 * the system tools.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import * as openpgp from "openpgp";
import { runBootstream } from "./helpers/cli.ts";
import { tempDir } from "./helpers/fixtures.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const work = tempDir("bootstream-download-");

interface Served {
  body: Buffer;
  /** Ignore Range headers (always send everything). */
  noRange?: boolean;
  /** Drop the connection after this many bytes, this many times. */
  dropAfter?: number;
  drops?: number;
  /** Answer 503 this many times first. */
  failures?: number;
}

describe("bootstream download", () => {
  let server: Server;
  let base: string;
  const files = new Map<string, Served>();
  const requests: { path: string; range: string | undefined; status: number }[] = [];
  let keyFile: string;
  let otherKeyFile: string;
  let streamFile: string;
  const raw = randomBytes(3 * 1024 * 1024 + 123);
  const kernel = randomBytes(200_000);
  const initramfs = randomBytes(300_000);
  const rootfs = randomBytes(400_000);

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const range = req.headers.range;
    const log = (status: number) => requests.push({ path, range, status });
    if (path.startsWith("/redirect/")) {
      log(302);
      res.writeHead(302, { location: path.slice("/redirect".length) }).end();
      return;
    }
    const file = files.get(path);
    if (file === undefined) {
      log(404);
      res.writeHead(404).end("not found");
      return;
    }
    if (file.failures && file.failures > 0) {
      file.failures--;
      log(503);
      res.writeHead(503).end("busy");
      return;
    }
    let start = 0;
    const m = range && !file.noRange ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) start = Number(m[1]);
    const body = file.body.subarray(start);
    const status = m ? 206 : 200;
    log(status);
    res.writeHead(status, {
      "content-length": body.length,
      "accept-ranges": file.noRange ? "none" : "bytes",
      ...(m ? { "content-range": `bytes ${start}-${file.body.length - 1}/${file.body.length}` } : {}),
    });
    if (file.dropAfter !== undefined && (file.drops ?? 0) > 0 && body.length > file.dropAfter) {
      file.drops = (file.drops ?? 0) - 1;
      res.write(body.subarray(0, file.dropAfter), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  }

  async function sign(data: Buffer, privateKey: openpgp.PrivateKey): Promise<Buffer> {
    const message = await openpgp.createMessage({ binary: data });
    return Buffer.from(
      (await openpgp.sign({
        message,
        signingKeys: privateKey,
        detached: true,
        format: "binary",
      })) as Uint8Array,
    );
  }

  before(async () => {
    server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const key = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "release" }],
      format: "object",
    });
    const other = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "other" }],
      format: "object",
    });
    keyFile = join(work, "release.asc");
    otherKeyFile = join(work, "other.asc");
    writeFileSync(keyFile, key.publicKey.armor());
    writeFileSync(otherKeyFile, other.publicKey.armor());

    const xz = execFileSync("xz", ["-c", "-6"], { input: raw, maxBuffer: 64 << 20 });
    const zst = execFileSync("zstd", ["-c", "-q"], { input: raw, maxBuffer: 64 << 20 });
    const gz = gzipSync(raw);
    const add = async (path: string, body: Buffer, extra: Partial<Served> = {}, signer = key.privateKey) => {
      files.set(path, { body, ...extra });
      files.set(`${path}.sig`, { body: await sign(body, signer) });
    };
    await add("/builds/1.0/x86_64/image-metal.x86_64.raw.xz", xz);
    await add("/builds/1.0/x86_64/image-qemu.x86_64.qcow2.gz", gz);
    await add("/builds/1.0/x86_64/image-openstack.x86_64.qcow2.zst", zst);
    await add("/builds/1.0/x86_64/image-live-kernel.x86_64", kernel);
    await add("/builds/1.0/x86_64/image-live-initramfs.x86_64.img", initramfs);
    await add("/builds/1.0/x86_64/image-live-rootfs.x86_64.img", rootfs);
    await add("/builds/1.0/x86_64/image-dropped.x86_64.raw.xz", xz, { dropAfter: 700_000, drops: 2 });
    await add("/builds/1.0/x86_64/image-norange.x86_64.raw.xz", xz, {
      noRange: true,
      dropAfter: 500_000,
      drops: 1,
    });
    await add("/builds/1.0/x86_64/image-busy.x86_64.raw.xz", xz, { failures: 2 });
    await add(
      "/builds/1.0/x86_64/image-baddigest.x86_64.raw.xz",
      Buffer.concat([xz.subarray(0, -1), Buffer.from([xz.at(-1)! ^ 1])]),
    );
    await add("/builds/1.0/x86_64/image-badsig.x86_64.raw.xz", xz, {}, other.privateKey);
    // The artifact is missing but its signature is there: a 404 of the artifact itself.
    files.set("/builds/1.0/x86_64/image-missing.x86_64.raw.xz.sig", { body: await sign(xz, key.privateKey) });
    await add(
      "/builds/1.0/x86_64/image-corrupt.x86_64.raw.xz",
      Buffer.concat([xz.subarray(0, 100), randomBytes(1000)]),
    );

    const artifact = (name: string, body: Buffer, uncompressed?: Buffer) => ({
      location: `${base}/builds/1.0/x86_64/${name}`,
      signature: `${base}/builds/1.0/x86_64/${name}.sig`,
      sha256: sha(body),
      ...(uncompressed ? { "uncompressed-sha256": sha(uncompressed) } : {}),
    });
    const stream = {
      stream: "teststream",
      metadata: { "last-modified": "2026-01-01T00:00:00Z" },
      architectures: {
        x86_64: {
          artifacts: {
            metal: {
              release: "1.0",
              formats: {
                "raw.xz": { disk: artifact("image-metal.x86_64.raw.xz", xz, raw) },
                pxe: {
                  kernel: artifact("image-live-kernel.x86_64", kernel),
                  initramfs: artifact("image-live-initramfs.x86_64.img", initramfs),
                  rootfs: artifact("image-live-rootfs.x86_64.img", rootfs),
                },
                "dropped.raw.xz": { disk: artifact("image-dropped.x86_64.raw.xz", xz, raw) },
                "norange.raw.xz": { disk: artifact("image-norange.x86_64.raw.xz", xz, raw) },
                "busy.raw.xz": { disk: artifact("image-busy.x86_64.raw.xz", xz, raw) },
                // The stream's digest is of the good file; the server sends a flipped byte.
                "baddigest.raw.xz": { disk: { ...artifact("image-baddigest.x86_64.raw.xz", xz, raw) } },
                "badsig.raw.xz": { disk: artifact("image-badsig.x86_64.raw.xz", xz, raw) },
                "missing.raw.xz": { disk: artifact("image-missing.x86_64.raw.xz", xz, raw) },
                "redirect.raw.xz": {
                  disk: {
                    ...artifact("image-metal.x86_64.raw.xz", xz, raw),
                    location: `${base}/redirect/builds/1.0/x86_64/image-metal.x86_64.raw.xz`,
                  },
                },
                "corrupt.raw.xz": {
                  disk: {
                    ...artifact(
                      "image-corrupt.x86_64.raw.xz",
                      files.get("/builds/1.0/x86_64/image-corrupt.x86_64.raw.xz")?.body as Buffer,
                    ),
                    "uncompressed-sha256": sha(raw),
                  },
                },
              },
            },
            qemu: {
              release: "1.0",
              formats: { "qcow2.gz": { disk: artifact("image-qemu.x86_64.qcow2.gz", gz, raw) } },
            },
            openstack: {
              release: "1.0",
              formats: { "qcow2.zst": { disk: artifact("image-openstack.x86_64.qcow2.zst", zst, raw) } },
            },
          },
          images: {},
        },
      },
    };
    streamFile = join(work, "teststream.json");
    writeFileSync(streamFile, `${JSON.stringify(stream, null, 4)}\n`);
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const dl = (dir: string, ...args: string[]) =>
    runBootstream([
      "download",
      "-s",
      streamFile,
      "-a",
      "x86_64",
      "-C",
      dir,
      "--key",
      keyFile,
      "--retries",
      "3",
      "--retry-delay",
      "10",
      ...args,
    ]);

  it("downloads, checks sha256 and the signature, prints the path, leaves no .part", async () => {
    const dir = tempDir();
    const run = await dl(dir, "-p", "metal", "-f", "raw.xz");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${join(dir, "image-metal.x86_64.raw.xz")}\n`);
    assert.match(run.stderr, /sha256 ok, signed by [0-9a-f]{16}/);
    assert.deepEqual(readdirSync(dir), ["image-metal.x86_64.raw.xz"]);
    assert.equal(
      sha(readFileSync(join(dir, "image-metal.x86_64.raw.xz"))),
      sha(files.get("/builds/1.0/x86_64/image-metal.x86_64.raw.xz")?.body as Buffer),
    );
  });

  for (const [label, env] of [
    ["system xz/zstd", {}],
    ["built-in decoders", { BOOTSTREAM_BUILTIN_DECOMPRESSORS: "1" }],
  ] as const) {
    it(`decompresses xz, gzip and zstd on the fly and checks uncompressed-sha256 (${label})`, async () => {
      const dir = tempDir();
      for (const [platform, format, name] of [
        ["metal", "raw.xz", "image-metal.x86_64.raw"],
        ["qemu", "qcow2.gz", "image-qemu.x86_64.qcow2"],
        ["openstack", "qcow2.zst", "image-openstack.x86_64.qcow2"],
      ]) {
        const run = await runBootstream(
          [
            "download",
            "-s",
            streamFile,
            "-a",
            "x86_64",
            "-p",
            platform as string,
            "-f",
            format as string,
            "-C",
            dir,
            "--key",
            keyFile,
            "--decompress",
          ],
          { env },
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, `${join(dir, name as string)}\n`);
        assert.ok(readFileSync(join(dir, name as string)).equals(raw), `${format} decompressed exactly`);
      }
      assert.deepEqual(readdirSync(dir).sort(), [
        "image-metal.x86_64.raw",
        "image-openstack.x86_64.qcow2",
        "image-qemu.x86_64.qcow2",
      ]);
    });
  }

  it("shows a progress bar (bytes, rate, ETA) on a terminal and nothing otherwise", async () => {
    const args = [
      "download",
      "-s",
      streamFile,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "raw.xz",
      "--key",
      keyFile,
    ];
    const tty = await runBootstream([...args, "-C", tempDir()], { tty: true });
    assert.equal(tty.code, 0, tty.stderr);
    assert.match(
      tty.stderr,
      /image-metal\.x86_64\.raw\.xz \[[█░]+\] 100% [\d.]+ (MiB|KiB)\/[\d.]+ (MiB|KiB) [\d.]+ (MiB|KiB|B)\/s ETA/,
    );
    const quiet = await runBootstream([...args, "-C", tempDir()]);
    assert.doesNotMatch(quiet.stderr, /\[[█░]+\]/);
  });

  it("downloads kernel, initramfs and rootfs for pxe", async () => {
    const dir = tempDir();
    const run = await dl(dir, "-p", "metal", "-f", "pxe");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      join(dir, "image-live-kernel.x86_64"),
      join(dir, "image-live-initramfs.x86_64.img"),
      join(dir, "image-live-rootfs.x86_64.img"),
    ]);
    assert.ok(readFileSync(join(dir, "image-live-rootfs.x86_64.img")).equals(rootfs));
  });

  it("survives dropped connections by resuming with Range, decompressing or not", async () => {
    for (const decompress of [[], ["--decompress"]]) {
      files.set("/builds/1.0/x86_64/image-dropped.x86_64.raw.xz", {
        ...(files.get("/builds/1.0/x86_64/image-dropped.x86_64.raw.xz") as Served),
        drops: 2,
      });
      requests.length = 0;
      const dir = tempDir();
      const run = await dl(dir, "-p", "metal", "-f", "dropped.raw.xz", ...decompress);
      assert.equal(run.code, 0, run.stderr);
      const ranges = requests.filter((r) => r.path.endsWith("dropped.x86_64.raw.xz")).map((r) => r.range);
      assert.deepEqual(ranges, [undefined, "bytes=700000-", "bytes=1400000-"]);
    }
  });

  it("resumes from a server without Range support by skipping what it already has", async () => {
    const dir = tempDir();
    const run = await dl(dir, "-p", "metal", "-f", "norange.raw.xz", "--decompress");
    assert.equal(run.code, 0, run.stderr);
    assert.ok(readFileSync(join(dir, "image-norange.x86_64.raw")).equals(raw));
  });

  it("resumes an interrupted run from NAME.part, rebuilding the hash from the bytes on disk", async () => {
    const dir = tempDir();
    const body = files.get("/builds/1.0/x86_64/image-metal.x86_64.raw.xz")?.body as Buffer;
    writeFileSync(join(dir, "image-metal.x86_64.raw.xz.part"), body.subarray(0, 123_456));
    requests.length = 0;
    const run = await dl(dir, "-p", "metal", "-f", "raw.xz");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      requests.filter((r) => r.path.endsWith("metal.x86_64.raw.xz")).map((r) => r.range),
      ["bytes=123456-"],
    );
    assert.ok(readFileSync(join(dir, "image-metal.x86_64.raw.xz")).equals(body));
  });

  it("retries 503s with backoff and follows redirects", async () => {
    const busy = await dl(tempDir(), "-p", "metal", "-f", "busy.raw.xz");
    assert.equal(busy.code, 0, busy.stderr);
    const redirected = await dl(tempDir(), "-p", "metal", "-f", "redirect.raw.xz");
    assert.equal(redirected.code, 0, redirected.stderr);
  });

  it("skips a complete file that still verifies", async () => {
    const dir = tempDir();
    await dl(dir, "-p", "metal", "-f", "raw.xz");
    requests.length = 0;
    const again = await dl(dir, "-p", "metal", "-f", "raw.xz");
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already present and verified/);
    assert.equal(requests.filter((r) => r.path.endsWith(".raw.xz")).length, 0);
  });

  const failures: [string, string[], number, RegExp][] = [
    [
      "a wrong digest",
      ["-f", "baddigest.raw.xz"],
      3,
      /sha256 of .*image-baddigest.* is [0-9a-f]{64}, the stream says [0-9a-f]{64}/,
    ],
    ["a wrong signature", ["-f", "badsig.raw.xz"], 4, /bad signature/],
    ["a 404", ["-f", "missing.raw.xz"], 1, /HTTP 404/],
    ["corrupt xz data", ["-f", "corrupt.raw.xz", "--decompress"], 3, /corrupt|does not decompress/],
  ];
  for (const [what, args, code, message] of failures) {
    it(`ends with exit ${code} and no file left behind for ${what}`, async () => {
      const dir = tempDir();
      const run = await dl(dir, "-p", "metal", ...args);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(readdirSync(dir), [], "no output, no .part");
    });
  }

  it("refuses to run without a key unless --insecure, and --insecure still checks the digest", async () => {
    const dir = tempDir();
    const nokey = await runBootstream([
      "download",
      "-s",
      streamFile,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "raw.xz",
      "-C",
      dir,
    ]);
    assert.equal(nokey.code, 2);
    assert.match(nokey.stderr, /no key to verify signatures with/);
    const insecure = await runBootstream([
      "download",
      "-s",
      streamFile,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "baddigest.raw.xz",
      "-C",
      dir,
      "--insecure",
    ]);
    assert.equal(insecure.code, 3);
    const ok = await runBootstream([
      "download",
      "-s",
      streamFile,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "raw.xz",
      "-C",
      dir,
      "--insecure",
    ]);
    assert.equal(ok.code, 0);
    assert.match(ok.stderr, /signature not checked \(--insecure\)/);
    assert.ok(existsSync(join(dir, "image-metal.x86_64.raw.xz")));
  });

  it("takes the key from BOOTSTREAM_KEYRING, and a direct URL with -u", async () => {
    const dir = tempDir();
    const body = files.get("/builds/1.0/x86_64/image-qemu.x86_64.qcow2.gz")?.body as Buffer;
    const run = await runBootstream(
      [
        "download",
        "-u",
        `${base}/builds/1.0/x86_64/image-qemu.x86_64.qcow2.gz`,
        "--sha256",
        sha(body),
        "-C",
        dir,
      ],
      {
        env: { BOOTSTREAM_KEYRING: keyFile },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const wrongKey = await runBootstream([
      "download",
      "-u",
      `${base}/builds/1.0/x86_64/image-qemu.x86_64.qcow2.gz`,
      "-C",
      tempDir(),
      "--key",
      otherKeyFile,
    ]);
    assert.equal(wrongKey.code, 4);
  });
});
