/**
 * Hostile pre-4.8 installer files against `bootstream convert legacy`, with real processes:
 * keys JavaScript treats specially, credentials and encoded dot segments in `baseURI`, images
 * that would share one place in the stream, flags whose values end up in the stream, a
 * source that drips, outputs onto directories and links. Each checks the exit code, what is
 * named, and that nothing reaches the stream silently.
 */
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type CliRun, spawnBootstream } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: attacks mutate deep fixture JSON in place.
type Json = Record<string, any>;

const RHCOS_45 = fileURLToPath(new URL("../fixtures/legacy/rhcos-4.5-x86_64.json", import.meta.url));
const BUILD = "rhcos-45.82.202008010929-0";
const dir = tempDir("bootstream-hostile-convert-");
let counter = 0;

/** The real 4.5 file as JSON text after `edit`, written to a fresh file. */
function legacyFile(edit: (file: Json) => void): string {
  const file = JSON.parse(readFileSync(RHCOS_45, "utf8")) as Json;
  edit(file);
  const path = join(dir, `legacy-${++counter}.json`);
  writeFileSync(path, JSON.stringify(file, null, 4));
  return path;
}

/** A file whose text is `text`, for what JSON.stringify cannot write (own `__proto__` keys). */
function legacyText(text: string): string {
  const path = join(dir, `legacy-${++counter}.json`);
  writeFileSync(path, text);
  return path;
}

const convert = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  spawnBootstream(["convert", "legacy", ...args], { env });

/** Exit 1 with INVALID_DOCUMENT at `pointer`, nothing on stdout but the --json error. */
async function assertInvalid(path: string, pointer: string, message?: RegExp): Promise<void> {
  const run = await convert([path, "--json"]);
  assert.equal(run.code, 1, run.stderr + run.stdout.slice(0, 300));
  const error = (JSON.parse(run.stdout) as { error: { code: string; path: string; message: string } }).error;
  assert.equal(error.code, "INVALID_DOCUMENT");
  assert.equal(error.path, pointer, error.message);
  if (message) assert.match(error.message, message);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
}

describe("convert legacy: keys JavaScript treats specially", { concurrency: true }, () => {
  const text = readFileSync(RHCOS_45, "utf8");
  it("an image named __proto__ is refused, not dropped (exit 1)", async () => {
    const path = legacyText(
      text.replace(
        '"images": {',
        `"images": {"__proto__": {"path": "${BUILD}-evil.x86_64.img", "sha256": "${"0".repeat(64)}"},`,
      ),
    );
    await assertInvalid(path, "/images/__proto__", /__proto__/);
  });

  it("an AMI region named __proto__ is refused, not dropped (exit 1)", async () => {
    const path = legacyText(
      text.replace('"amis": {', '"amis": {"__proto__": {"hvm": "ami-0123456789abcdef0"},'),
    );
    await assertInvalid(path, "/amis/__proto__", /__proto__/);
  });

  it("fields named like Object's methods get the reason of any unknown field", async () => {
    const path = legacyFile((f) => {
      Object.assign(f, { constructor: "x", toString: "y" });
      f.images.hasOwnProperty = { path: `${BUILD}-other.x86_64.img`, sha256: "1".repeat(64) };
    });
    const run = await convert([path, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const unmapped = (JSON.parse(run.stdout) as { unmapped: { pointer: string; reason: string }[] }).unmapped;
    for (const pointer of ["/constructor", "/toString", "/images/hasOwnProperty"]) {
      const field = unmapped.find((u) => u.pointer === pointer);
      assert.ok(field, `${pointer} named`);
      assert.doesNotMatch(field.reason, /function|native code/, `${pointer}: ${field.reason}`);
    }
  });
});

describe("convert legacy: baseURI", { concurrency: true }, () => {
  it("with user:password@ is refused: the credentials would be in every artifact URL (exit 1)", async () => {
    await assertInvalid(
      legacyFile((f) => {
        f.baseURI = "https://user:secret@mirror.example/rhcos/";
      }),
      "/baseURI",
      /credentials|user/,
    );
  });

  it("with an encoded dot segment is refused: Go kept it, a WHATWG URL resolves it (exit 1)", async () => {
    await assertInvalid(
      legacyFile((f) => {
        f.baseURI = "https://mirror.example/rhcos/%2e%2e/";
      }),
      "/baseURI",
      /dot/,
    );
  });

  it("without a final / loses its last segment, as the installer's ResolveReference did", async () => {
    const run = await convert([
      legacyFile((f) => {
        f.baseURI = "https://mirror.example:8443/rhcos/4.5";
      }),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(`"https://mirror.example:8443/rhcos/${BUILD}-metal.x86_64.raw.gz"`));
  });
});

describe("convert legacy: one place in the stream per image", { concurrency: true }, () => {
  it("a metal image whose format is 4k.raw.gz beside metal4k is refused, not overwritten (exit 1)", async () => {
    await assertInvalid(
      legacyFile((f) => {
        f.images.metal.path = `${BUILD}-metal.x86_64.4k.raw.gz`;
        f.images.metal4k = { path: `${BUILD}-metal4k.x86_64.raw.gz`, sha256: "1".repeat(64) };
      }),
      "/images/metal/path",
      /metal4k/,
    );
  });

  it("a metal image whose format is installer.iso beside iso is refused (exit 1)", async () => {
    await assertInvalid(
      legacyFile((f) => {
        f.images.metal.path = `${BUILD}-metal.x86_64.installer.iso`;
      }),
      "/images/metal/path",
      /\/images\/iso/,
    );
  });

  it("two live ISOs (iso named -live and live-iso) are refused (exit 1)", async () => {
    await assertInvalid(
      legacyFile((f) => {
        f.images.iso.path = `${BUILD}-live.x86_64.iso`;
        f.images["live-iso"] = { path: `${BUILD}-live2.x86_64.iso`, sha256: "1".repeat(64) };
      }),
      "/images/iso/path",
      /live-iso/,
    );
  });

  it("ignition-gpg-key leaves no empty qemu-secex platform behind; it is named", async () => {
    const run = await convert([
      legacyFile((f) => {
        f.images["ignition-gpg-key"] = {
          path: `${BUILD}-ignition-gpg-key.x86_64.gpg.pub`,
          sha256: "2".repeat(64),
        };
      }),
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { stream: Json; unmapped: { pointer: string }[] };
    assert.equal(report.stream.architectures.x86_64.artifacts["qemu-secex"], undefined);
    assert.ok(report.unmapped.some((u) => u.pointer === "/images/ignition-gpg-key"));
  });
});

describe("convert legacy: flags", { concurrency: true }, () => {
  it("--gcp-project with shell metacharacters is refused (exit 2), not written into images.gcp", async () => {
    const run = await convert([RHCOS_45, "--gcp-project", "Evil$(reboot)"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /--gcp-project/);
  });

  it("-o onto a directory is exit 2 and writes nothing into it", async () => {
    const out = join(dir, "out-dir");
    mkdirSync(out);
    const run = await convert([RHCOS_45, "-o", out]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /directory/);
  });

  it("--json -o onto a directory prints one JSON document, the error (exit 2)", async () => {
    const out = join(dir, "out-dir-json");
    mkdirSync(out);
    const run = await convert([RHCOS_45, "--json", "-o", out]);
    assert.equal(run.code, 2, run.stderr);
    const report = JSON.parse(run.stdout) as { error?: { code: string }; stream?: unknown };
    assert.equal(report.error?.code, "IO");
    assert.equal(report.stream, undefined);
  });

  it("-o onto a symlink replaces the link and never writes through it", async () => {
    const target = join(dir, "target.json");
    writeFileSync(target, "{}\n");
    const link = join(dir, "link.json");
    symlinkSync(target, link);
    const run = await convert([RHCOS_45, "-o", link]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(target, "utf8"), "{}\n");
    assert.ok(lstatSync(link).isFile());
  });
});

describe("convert legacy: size, depth and encoding", { concurrency: true }, () => {
  it("10,000 AMI regions convert in time, every one kept", async () => {
    const amis: Json = {};
    for (let i = 0; i < 10_000; i++)
      amis[`r${i}-test-1`] = { hvm: `ami-${i.toString(16).padStart(17, "0")}` };
    const run = await convert([
      legacyFile((f) => {
        f.amis = amis;
      }),
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const regions = (JSON.parse(run.stdout) as { stream: Json }).stream.architectures.x86_64.images.aws
      .regions;
    assert.equal(Object.keys(regions).length, 10_000);
  });

  it("a nesting bomb is refused with its place (exit 1), no stack overflow", async () => {
    const text = readFileSync(RHCOS_45, "utf8").replace(
      /\}\s*$/,
      `, "bomb": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    );
    const run = await convert([legacyText(text)]);
    assert.equal(run.code, 1, run.stderr.slice(0, 300));
    assert.match(run.stderr, /levels of nesting/);
    assert.ok(run.stderr.length < 4096, "the message stays short");
  });

  it("a BOM is read; invalid UTF-8 is refused with its byte offset (exit 1)", async () => {
    const bytes = readFileSync(RHCOS_45);
    const bom = join(dir, "bom.json");
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
    assert.equal((await convert([bom])).code, 0);
    const bad = join(dir, "bad-utf8.json");
    writeFileSync(bad, Buffer.concat([bytes.subarray(0, 20), Buffer.from([0xff]), bytes.subarray(20)]));
    const run = await convert([bad]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /UTF-8.*byte offset 20/);
  });
});

describe("convert legacy: a URL source on 127.0.0.1", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/drip") {
        // One byte a second: each read is within the idle deadline, the whole never ends.
        res.writeHead(200, { "content-type": "application/json" });
        const timer = setInterval(() => res.write(" "), 200);
        res.on("close", () => clearInterval(timer));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(readFileSync(RHCOS_45));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("a body that drips for ever ends at the total deadline (exit 2, TIMEOUT)", async () => {
    const started = Date.now();
    const run = await convert([`${base}/drip`, "--json"], { BOOTSTREAM_TIMEOUT: "0.5" });
    assert.equal(run.code, 2, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, "TIMEOUT");
    assert.ok(Date.now() - started < 10_000);
  });

  it("a file served over http converts as the local file does", async () => {
    const [remote, local] = await Promise.all([convert([`${base}/rhcos.json`]), convert([RHCOS_45])]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, local.stdout);
  });
});
