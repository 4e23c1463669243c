/**
 * bootstream mirror from a real origin server on 127.0.0.1 into a directory, which is then
 * served by a plain static server (and bootstream serve for the stream) and downloaded from.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as openpgp from "openpgp";
import { BootstreamError } from "../src/errors.ts";
import { mirrorStream } from "../src/mirror/mirror.ts";
import { parseStream } from "../src/schema/parse.ts";
import { mirrorRewriteIssues } from "../src/trust/mirror-rewrite.ts";
import { runBootstream, spawnBootstream, startBootstream } from "./helpers/cli.ts";
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
  let privateKeyFile: string;
  /** The stream as served at ${origin.url}/streams/test.json, signed by the release key. */
  let streamBytes: Buffer;
  let streamSignature: string;
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
    privateKeyFile = join(originRoot, "..", `private-key-${Date.now()}.asc`);
    writeFileSync(privateKeyFile, key.privateKey.armor());
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
    // Served too, in a layout of its own (2-space indent): an upstream copy that was
    // re-serialised instead of kept would show.
    streamBytes = Buffer.from(`${JSON.stringify(stream, null, 2)}\n`);
    mkdirSync(join(originRoot, "streams"), { recursive: true });
    writeFileSync(join(originRoot, "streams/test.json"), streamBytes);
    streamSignature = (await openpgp.sign({
      message: await openpgp.createMessage({ binary: streamBytes }),
      signingKeys: key.privateKey,
      detached: true,
      format: "armored",
    })) as string;
    writeFileSync(join(originRoot, "streams/test.json.asc"), streamSignature);
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
      // ...and for the upstream copy beside it, which clients check the rewrite against.
      const copy = await fetch(`${url}/streams/test.upstream.json`);
      assert.equal(copy.status, 200);
      assert.ok(Buffer.from(await copy.arrayBuffer()).equals(readFileSync(streamFile)));
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

  /** The upstream copy and the rewritten stream of a mirror in `dir`, parsed. */
  const written = (dir: string) => ({
    upstream: parseStream(readFileSync(join(dir, "streams/test.upstream.json"))),
    rewritten: parseStream(readFileSync(join(dir, "streams/test.json"))),
  });

  it("keeps the upstream stream byte for byte beside the rewritten one, which the faithful-mirror check passes", async () => {
    for (const selection of [
      ["--metadata-only"],
      ["-a", "x86_64", "-p", "metal"],
      ["-f", "qcow2.xz,iso"],
      [],
    ]) {
      const dir = tempDir("bootstream-mirror-");
      // The real executable, reading the stream over HTTP.
      const run = await spawnBootstream([
        "mirror",
        `${origin.url}/streams/test.json`,
        "--to",
        dir,
        "--base-url",
        BASE,
        "--json",
        ...selection,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const upstreamCopy = readFileSync(join(dir, "streams/test.upstream.json"));
      assert.ok(upstreamCopy.equals(streamBytes), `${selection}: the exact bytes read`);
      assert.equal(JSON.parse(run.stdout).upstreamPath, join(dir, "streams/test.upstream.json"));
      const { upstream, rewritten } = written(dir);
      assert.notDeepEqual(rewritten, upstream, "the rewrite changed the URLs");
      assert.deepEqual(mirrorRewriteIssues(upstream, rewritten), [], `${selection}`);
      // Without --stream-key the signature beside the source is kept unverified (clients verify it).
      assert.ok(
        readFileSync(join(dir, "streams/test.upstream.json.asc")).equals(Buffer.from(streamSignature)),
      );
      assert.match(run.stderr, /unverified/);
    }
  });

  it("keeps a local upstream file byte for byte too, and replaces the copy on a rerun from newer bytes", async () => {
    const dir = tempDir("bootstream-mirror-");
    assert.equal((await mirror(dir, "--metadata-only")).code, 0);
    assert.ok(readFileSync(join(dir, "streams/test.upstream.json")).equals(readFileSync(streamFile)));
    const newer = JSON.parse(readFileSync(streamFile, "utf8")) as Json;
    newer.metadata["last-modified"] = "2026-02-01T00:00:00Z";
    const newerFile = join(tempDir(), "test.json");
    writeFileSync(newerFile, JSON.stringify(newer));
    const run = await runBootstream([
      "mirror",
      newerFile,
      "--to",
      dir,
      "--base-url",
      BASE,
      "--metadata-only",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(readFileSync(join(dir, "streams/test.upstream.json")).equals(readFileSync(newerFile)));
    const { upstream, rewritten } = written(dir);
    assert.equal(rewritten.metadata["last-modified"], "2026-02-01T00:00:00Z");
    assert.deepEqual(mirrorRewriteIssues(upstream, rewritten), []);
  });

  it("writes the upstream signature byte for byte beside its copy, where verify accepts it", async () => {
    const dir = tempDir("bootstream-mirror-");
    const signature = Buffer.from(streamSignature);
    const result = await mirrorStream(parseStream(streamBytes), {
      directory: dir,
      baseUrl: BASE,
      metadataOnly: true,
      upstream: { bytes: streamBytes, signature },
    });
    assert.equal(result.upstreamSignaturePath, join(dir, "streams/test.upstream.json.asc"));
    assert.ok(readFileSync(join(dir, "streams/test.upstream.json.asc")).equals(signature));
    const verify = await spawnBootstream([
      "verify",
      join(dir, "streams/test.upstream.json"),
      "--key",
      keyFile,
    ]);
    assert.equal(verify.code, 0, verify.stderr);
    // The rewritten stream itself is not signed by the release key.
    assert.equal(existsSync(join(dir, "streams/test.json.asc")), false);
  });

  it("removes an upstream signature that no longer signs the upstream copy, and keeps one that still does", async () => {
    const dir = tempDir("bootstream-mirror-");
    const options = { directory: dir, baseUrl: BASE, metadataOnly: true };
    const asc = join(dir, "streams/test.upstream.json.asc");
    await mirrorStream(parseStream(streamBytes), {
      ...options,
      upstream: { bytes: streamBytes, signature: Buffer.from(streamSignature) },
    });
    // Same bytes, signature not known this time: the one beside them still signs them.
    await mirrorStream(parseStream(streamBytes), { ...options, upstream: { bytes: streamBytes } });
    assert.equal(readFileSync(asc, "utf8"), streamSignature);
    // Other bytes (the same stream, laid out differently): the old signature goes.
    const other = readFileSync(streamFile);
    await mirrorStream(parseStream(other), { ...options, upstream: { bytes: other } });
    assert.equal(existsSync(asc), false);
    assert.ok(readFileSync(join(dir, "streams/test.upstream.json")).equals(other));
    // No upstream copy given at all: none is left behind to vouch for the new rewrite.
    await mirrorStream(parseStream(other), options);
    assert.deepEqual(readdirSync(join(dir, "streams")).sort(), ["test.json"]);
  });

  it("refuses upstream bytes that are not the stream being mirrored, writing nothing", async () => {
    const dir = tempDir("bootstream-mirror-");
    const changed = JSON.parse(streamBytes.toString()) as Json;
    changed.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256 = "0".repeat(64);
    await assert.rejects(
      mirrorStream(parseStream(streamBytes), {
        directory: dir,
        baseUrl: BASE,
        metadataOnly: true,
        upstream: { bytes: Buffer.from(JSON.stringify(changed)) },
      }),
      (error: unknown) =>
        error instanceof BootstreamError &&
        error.code === "USAGE" &&
        /not the stream being mirrored: \/architectures\/x86_64\/artifacts\/metal\/formats\/iso\/disk\/sha256: sha256 differs/.test(
          error.message,
        ),
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it("re-signs the rewritten stream with --sign-key, a signature verify accepts over its exact bytes", async () => {
    const dir = tempDir("bootstream-mirror-");
    const run = await spawnBootstream([
      "mirror",
      streamFile,
      "--to",
      dir,
      "--base-url",
      BASE,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "--sign-key",
      privateKeyFile,
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).signaturePath, join(dir, "streams/test.json.asc"));
    const verify = await spawnBootstream(["verify", join(dir, "streams/test.json"), "--key", keyFile]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /good signature from key/);
    // A byte changed in the rewritten stream: the operator's signature no longer holds.
    const path = join(dir, "streams/test.json");
    writeFileSync(path, readFileSync(path, "utf8").replace("x86_64", "x86_65"));
    const bad = await spawnBootstream(["verify", path, "--key", keyFile]);
    assert.equal(bad.code, 4, bad.stderr);
    // A rerun without --sign-key keeps a signature only while it still signs the stream.
    const args = ["mirror", streamFile, "--to", dir, "--base-url", BASE, "--metadata-only"];
    assert.equal((await runBootstream([...args, "-a", "x86_64", "-p", "metal"])).code, 0);
    assert.equal(existsSync(join(dir, "streams/test.json.asc")), false, "the tampered bytes were replaced");
    assert.equal((await runBootstream([...args, "--sign-key", privateKeyFile])).code, 0);
    assert.equal((await runBootstream(args)).code, 0);
    assert.equal((await runBootstream(["verify", path, "--key", keyFile])).code, 0, "same bytes, kept");
    assert.equal((await runBootstream([...args, "-a", "aarch64"])).code, 0);
    assert.equal(existsSync(join(dir, "streams/test.json.asc")), false, "other bytes, removed");
  });

  it("reads a passphrase-protected --sign-key with BOOTSTREAM_SIGN_PASSPHRASE, and refuses a wrong one before fetching anything", async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "mirror operator" }],
      passphrase: "correct horse",
      format: "armored",
    });
    const keys = tempDir();
    writeFileSync(join(keys, "operator.asc"), privateKey);
    writeFileSync(join(keys, "operator.pub.asc"), publicKey);
    const args = (dir: string) => [
      "mirror",
      streamFile,
      "--to",
      dir,
      "--base-url",
      BASE,
      "-a",
      "aarch64",
      "--sign-key",
      join(keys, "operator.asc"),
    ];
    const wrongDir = tempDir("bootstream-mirror-");
    origin.requests.length = 0;
    const wrong = await runBootstream(args(wrongDir), { env: { BOOTSTREAM_SIGN_PASSPHRASE: "wrong" } });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /cannot use the signing key/);
    assert.deepEqual(readdirSync(wrongDir), []);
    assert.equal(origin.requests.length, 0, "nothing fetched");
    const dir = tempDir("bootstream-mirror-");
    const run = await runBootstream(args(dir), { env: { BOOTSTREAM_SIGN_PASSPHRASE: "correct horse" } });
    assert.equal(run.code, 0, run.stderr);
    const verify = await runBootstream([
      "verify",
      join(dir, "streams/test.json"),
      "--key",
      join(keys, "operator.pub.asc"),
    ]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  it("refuses a stream whose name would take another stream's upstream copy, writing nothing", async () => {
    const dir = tempDir("bootstream-mirror-");
    const hostile = JSON.parse(readFileSync(streamFile, "utf8")) as Json;
    hostile.stream = "test.upstream";
    const file = join(tempDir(), "hostile.json");
    writeFileSync(file, JSON.stringify(hostile));
    const run = await runBootstream(["mirror", file, "--to", dir, "--base-url", BASE, "--metadata-only"]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /"test\.upstream" cannot name the mirrored stream's file: .*upstream copy of another stream/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it("refuses an artifact whose URL path would take the upstream copy or a signature of the stream", async () => {
    for (const path of [
      "/streams/test.upstream.json",
      "/streams/test.upstream.json.asc",
      "/Streams/test.json.asc",
    ]) {
      const dir = tempDir("bootstream-mirror-");
      const hostile = JSON.parse(readFileSync(streamFile, "utf8")) as Json;
      hostile.architectures.x86_64.artifacts.metal.formats.iso.disk.location = `${origin.url}${path}`;
      const file = join(tempDir(), "hostile.json");
      writeFileSync(file, JSON.stringify(hostile));
      origin.requests.length = 0;
      const run = await runBootstream(["mirror", file, "--to", dir, "--base-url", BASE]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /which the mirror keeps for its own files/, path);
      assert.deepEqual(readdirSync(dir), [], path);
      assert.equal(origin.requests.length, 0, path);
    }
  });

  it("keeps a stream named to leave --to confined: nothing written, upstream copy included", async () => {
    const parent = tempDir("bootstream-mirror-");
    const dir = join(parent, "to");
    mkdirSync(dir);
    const hostile = JSON.parse(readFileSync(streamFile, "utf8")) as Json;
    for (const name of ["../../x", "../x", "streams/../../x"]) {
      hostile.stream = name;
      const file = join(tempDir(), "hostile.json");
      writeFileSync(file, JSON.stringify(hostile));
      const run = await runBootstream(["mirror", file, "--to", dir, "--base-url", BASE, "--metadata-only"]);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(readdirSync(parent), ["to"], name);
      assert.deepEqual(readdirSync(dir), [], name);
    }
  });
});
