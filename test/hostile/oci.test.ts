/**
 * Hostile OCI peers: streams with names that would climb out of the image, layers whose tar
 * entries try to confuse which file is the stream, layouts with missing or escaping fields,
 * and registries that stall, send endless bodies, inflate to gigabytes, lie about sizes and
 * types, or lure credentials to another host. Every attack runs the real executable against
 * real files and real servers on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { BootstreamError } from "../../src/errors.ts";
import { buildStreamImage } from "../../src/oci/image.ts";
import type { Stream } from "../../src/schema/stream.ts";
import { BIN, type CliRun, spawnBootstream, startBootstream } from "../helpers/cli.ts";
import { fixturePath, fixtureText, tempDir } from "../helpers/fixtures.ts";
import {
  buildImage,
  endless,
  gzipLayer,
  type HostileEntry,
  type HostileRegistry,
  hostileTar,
  MEDIA,
  type Peer,
  pax,
  STREAM_ANNOTATIONS,
  serveImage,
  sha256,
  startPeer,
  startRegistry,
  startSilentServer,
  writeImageLayout,
} from "./registry-server.ts";

const FCOS = fixtureText("fcos-stable-stream.json");
/** A valid stream that is not the one the image is about: what an attacker wants taken. */
const EVIL = FCOS.replace("2026-07-21T14:07:12Z", "2099-01-01T00:00:00Z");
const STREAM_ENTRY = { name: "usr/share/bootstream/stable.json", body: FCOS };
const CONFIGMAP_ENTRY = { name: "manifests/coreos-bootimages.yaml", body: "kind: ConfigMap\n" };
const NO_PATH_ANNOTATION = (() => {
  const a = STREAM_ANNOTATIONS("stable");
  delete a["io.coreos.bootstream.path"];
  return a;
})();

const run = (args: string[], timeoutMs = 40_000) => spawnBootstream(args, { timeoutMs });

/** The BootstreamError code a `--json` command reported. */
function errorCode(result: CliRun): string | undefined {
  try {
    return (JSON.parse(result.stdout) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function assertOneLine(result: CliRun): void {
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected: ${result.stderr}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
  assert.doesNotMatch(result.stderr.trimEnd(), /[\u0000-\u0008\u000b-\u001f\u007f]/);
  assert.doesNotMatch(result.stderr, /TypeError|at .*\.ts:\d+/);
}

/** Runs the executable with `env` added, killed after `timeoutMs`; optionally under /usr/bin/time. */
function runWith(
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; measure?: boolean } = {},
): Promise<CliRun & { maxRssKb?: number; ms: number }> {
  const started = Date.now();
  const [cmd, argv] = options.measure
    ? ["/usr/bin/time", ["-f", "maxrss=%M", process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve, reject) => {
    // Its own process group, so a kill reaches the node under /usr/bin/time too.
    const child = spawn(cmd, argv as string[], {
      env: { ...process.env, ...env },
      stdio: "pipe",
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-(child.pid as number), "SIGKILL");
    }, options.timeoutMs ?? 40_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal || killed)
        return reject(new Error(`bootstream killed after ${options.timeoutMs ?? 40_000} ms: ${stderr}`));
      stderr = stderr.replace(/^Command exited with non-zero status \d+\n/m, "");
      const m = /maxrss=(\d+)\s*$/.exec(stderr);
      resolve({
        code: code ?? -1,
        stdout,
        stderr: m ? stderr.slice(0, m.index) : stderr,
        ms: Date.now() - started,
        ...(m ? { maxRssKb: Number(m[1]) } : {}),
      });
    });
    child.stdin.end();
  });
}

/** A stream file whose `stream` field is `name`. */
function streamNamed(name: string): string {
  const dir = tempDir("bootstream-hostile-oci-");
  const path = join(dir, "stream.json");
  writeFileSync(path, FCOS.replace('"stream": "stable"', `"stream": ${JSON.stringify(name)}`));
  return path;
}

/** A layout at a new directory holding one image over a layer of `entries`. */
function layoutWith(
  entries: readonly HostileEntry[],
  parts: { annotations?: Record<string, string>; edit?: (m: Record<string, unknown>) => void } = {},
): string {
  const dir = tempDir("bootstream-hostile-oci-");
  writeImageLayout(dir, buildImage({ layer: gzipLayer(entries), ...parts }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
describe("oci build confines names from the stream and the command line", () => {
  for (const [what, name] of [
    ["../../x", "../../x"],
    ["an absolute path", "/etc/cron.d/x"],
    ["a newline and an escape sequence", "x\n\u001b[2Jy"],
  ] as const) {
    test(`attack: oci build of a stream named with ${what} -> INVALID_DOCUMENT at /stream, nothing written`, async () => {
      const layout = tempDir("bootstream-hostile-oci-");
      const result = await run(["oci", "build", streamNamed(name), "--layout", `${layout}:t`]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /\/stream\b/);
      assert.deepEqual(readdirSync(layout), []);
    });
  }

  test("attack: the library is handed a parsed stream named ../../x (no schema in between) -> INVALID_DOCUMENT at /stream", () => {
    const stream = { ...(JSON.parse(FCOS) as Stream), stream: "../../x" };
    assert.throws(
      () => buildStreamImage(stream, FCOS),
      (e: unknown) => e instanceof BootstreamError && e.code === "INVALID_DOCUMENT" && e.path === "/stream",
    );
  });

  test("attack: the library is asked for a layer entry named ../x -> USAGE, no image", () => {
    const stream = JSON.parse(FCOS) as Stream;
    assert.throws(
      () => buildStreamImage(stream, FCOS, { name: "../x" }),
      (e: unknown) => e instanceof BootstreamError && e.code === "USAGE",
    );
  });

  test("attack: oci build --layout DIR:TAG with a tag holding a newline and spaces -> USAGE, nothing written", async () => {
    const layout = tempDir("bootstream-hostile-oci-");
    const result = await run([
      "oci",
      "build",
      fixturePath("fcos-stable-stream.json"),
      "--layout",
      `${layout}:a b\nc`,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(readdirSync(layout), []);
  });

  test("attack: a layout whose blobs/ is a symlink out of it -> oci build refuses, nothing written outside", async () => {
    const layout = tempDir("bootstream-hostile-oci-");
    const outside = tempDir("bootstream-hostile-oci-outside-");
    symlinkSync(outside, join(layout, "blobs"));
    const result = await run(["oci", "build", fixturePath("fcos-stable-stream.json"), "--layout", layout]);
    assert.notEqual(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(outside), []);
    assert.ok(!existsSync(join(layout, "index.json")));
  });
});

// ---------------------------------------------------------------------------------------------
describe("oci extract takes exactly the stream's regular file from a hostile layer", () => {
  const extract = async (dir: string) => run(["oci", "extract", `oci:${dir}:x`]);

  test("a pax path names the stream entry (long names, as other tools write them) -> taken by that name", async () => {
    const dir = layoutWith([
      CONFIGMAP_ENTRY,
      { name: "PaxHeaders/1", type: "x", body: pax({ path: STREAM_ENTRY.name }) },
      { name: "usr/share/bootstream/stabl", body: FCOS },
    ]);
    const result = await extract(dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, FCOS);
  });

  const refused: [string, HostileEntry[], Record<string, string>?][] = [
    [
      "an entry usr/share/bootstream/../../../etc/x.json before the stream (no path annotation)",
      [{ name: "usr/share/bootstream/../../../etc/x.json", body: EVIL }, STREAM_ENTRY],
      NO_PATH_ANNOTATION,
    ],
    [
      "an absolute /usr/share/bootstream/stable.json beside the stream",
      [STREAM_ENTRY, { name: "/usr/share/bootstream/stable.json", body: EVIL }],
    ],
    ["a second regular entry with the stream's name", [STREAM_ENTRY, { ...STREAM_ENTRY, body: EVIL }]],
    [
      "./usr/share/bootstream/stable.json after the stream",
      [STREAM_ENTRY, { name: "./usr/share/bootstream/stable.json", body: EVIL }],
    ],
    [
      "a symlink at the stream path after the file",
      [STREAM_ENTRY, { name: STREAM_ENTRY.name, type: "2", linkname: "/etc/passwd" }],
    ],
    [
      "a hard link at the stream path after the file",
      [STREAM_ENTRY, { name: STREAM_ENTRY.name, type: "1", linkname: "etc/passwd" }],
    ],
    [
      "a symlink usr/share/bootstream -> /etc before the file",
      [{ name: "usr/share/bootstream", type: "2", linkname: "/etc" }, STREAM_ENTRY],
    ],
    [
      "a pax header renaming a later entry to the stream path",
      [
        STREAM_ENTRY,
        { name: "PaxHeaders/2", type: "x", body: pax({ path: STREAM_ENTRY.name }) },
        { name: "evil.json", body: EVIL },
      ],
    ],
    [
      "a GNU long-name entry renaming a later entry to the stream path",
      [
        STREAM_ENTRY,
        { name: "././@LongLink", type: "L", body: `${STREAM_ENTRY.name}\0` },
        { name: "evil.json", body: EVIL },
      ],
    ],
    ["a header with a wrong checksum", [{ ...STREAM_ENTRY, badChecksum: true }]],
    [
      "a path annotation pointing at /etc/passwd",
      [STREAM_ENTRY, { name: "etc/passwd", body: EVIL }],
      { ...STREAM_ANNOTATIONS("stable"), "io.coreos.bootstream.path": "/etc/passwd" },
    ],
  ];
  for (const [what, entries, annotations] of refused) {
    test(`attack: a layer with ${what} -> INVALID_DOCUMENT, nothing taken`, async () => {
      const dir = layoutWith(entries, annotations ? { annotations } : {});
      const result = await extract(dir);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stdout, "");
      assertOneLine(result);
    });
  }

  test("attack: annotations with control characters and non-string releases -> stream-info refuses (INVALID_DOCUMENT)", async () => {
    const dir = layoutWith([STREAM_ENTRY], {
      annotations: {
        ...STREAM_ANNOTATIONS("stable"),
        "io.coreos.bootstream.stream": "stable\n\u001b[31mPWNED",
        "io.coreos.bootstream.releases": '{"x86_64":{"a":1}}',
      },
    });
    const result = await run(["oci", "stream-info", `oci:${dir}:x`, "--json"]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(errorCode(result), "INVALID_DOCUMENT");
  });
});

// ---------------------------------------------------------------------------------------------
describe("hostile image layouts give one-line errors naming the file and field", () => {
  const image = buildImage({ layer: gzipLayer([CONFIGMAP_ENTRY, STREAM_ENTRY]) });
  const info = (dir: string) => run(["oci", "stream-info", `oci:${dir}`, "--json"]);
  const extract = (dir: string) => run(["oci", "extract", `oci:${dir}`]);

  test("attack: index.json without manifests -> INVALID_DOCUMENT naming index.json and /manifests", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(dir, image, "x", '{"schemaVersion":2}');
    const result = await info(dir);
    assert.equal(errorCode(result), "INVALID_DOCUMENT", result.stderr);
    assert.match(result.stderr, /index\.json.*\/manifests/);
    assertOneLine(result);
  });

  test("attack: index.json with wrong types -> INVALID_DOCUMENT naming the field", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(
      dir,
      image,
      "x",
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MEDIA.manifest, digest: image.manifestDigest, size: "12" }],
      }),
    );
    const result = await info(dir);
    assert.equal(errorCode(result), "INVALID_DOCUMENT", result.stderr);
    assert.match(result.stderr, /index\.json.*\/manifests\/0\/size/);
    assertOneLine(result);
  });

  for (const field of ["layers", "config"] as const) {
    test(`attack: a manifest without ${field} -> INVALID_DOCUMENT naming the manifest and /${field}`, async () => {
      const dir = tempDir("bootstream-hostile-oci-");
      writeImageLayout(dir, buildImage({ layer: gzipLayer([STREAM_ENTRY]), edit: (m) => delete m[field] }));
      const result = await extract(dir);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`manifest.*/${field}`));
      assertOneLine(result);
    });
  }

  test("attack: index.json names a digest sha256:../../etc -> INVALID_DOCUMENT naming index.json, no path built", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(
      dir,
      image,
      "x",
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MEDIA.manifest, digest: "sha256:../../etc", size: 1 }],
      }),
    );
    const result = await info(dir);
    assert.equal(errorCode(result), "INVALID_DOCUMENT", result.stderr);
    assert.match(result.stderr, /index\.json.*\/manifests\/0\/digest/);
    assertOneLine(result);
  });

  test("attack: a manifest names a layer digest sha256:../../../etc/passwd -> INVALID_DOCUMENT naming /layers/0/digest", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(
      dir,
      buildImage({
        layer: gzipLayer([STREAM_ENTRY]),
        edit: (m) => {
          (m.layers as { digest: string }[])[0]!.digest = "sha256:../../../etc/passwd";
        },
      }),
    );
    const result = await extract(dir);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /\/layers\/0\/digest/);
    assertOneLine(result);
  });

  test("attack: index.json is a FIFO -> refused at once, no hang", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(dir, image);
    execFileSync("rm", [join(dir, "index.json")]);
    execFileSync("mkfifo", [join(dir, "index.json")]);
    const result = await run(["oci", "stream-info", `oci:${dir}`, "--json"], 20_000);
    assert.notEqual(result.code, 0);
    assertOneLine(result);
  });

  test("attack: the manifest blob is a symlink to /dev/zero -> refused without reading it", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(dir, image);
    const blob = join(dir, "blobs", "sha256", image.manifestDigest.slice(7));
    execFileSync("rm", [blob]);
    symlinkSync("/dev/zero", blob);
    const result = await runWith(
      ["oci", "stream-info", `oci:${dir}`, "--json"],
      {},
      { measure: true, timeoutMs: 20_000 },
    );
    assert.notEqual(result.code, 0);
    assert.ok((result.maxRssKb ?? 0) < 400_000, `max RSS ${result.maxRssKb} KiB`);
    assertOneLine(result);
  });

  test("attack: an index.json of 5 MiB -> TOO_LARGE", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MEDIA.manifest, digest: image.manifestDigest, size: image.manifest.length }],
    });
    writeImageLayout(dir, image, "x", index.replace("{", `{${" ".repeat(5 * 1024 * 1024)}`));
    const result = await info(dir);
    assert.equal(errorCode(result), "TOO_LARGE", result.stderr);
  });

  test("attack: a descriptor size that does not match its blob -> CHECKSUM_MISMATCH", async () => {
    const dir = tempDir("bootstream-hostile-oci-");
    writeImageLayout(
      dir,
      image,
      "x",
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MEDIA.manifest, digest: image.manifestDigest, size: 10 }],
      }),
    );
    const result = await info(dir);
    assert.equal(errorCode(result), "CHECKSUM_MISMATCH", result.stderr);
  });
});

// ---------------------------------------------------------------------------------------------
describe("hostile registries: bounded memory", () => {
  let registry: HostileRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.close());

  const flags = ["--tls-verify=false", "--timeout", "5"];

  test("attack: a layer that inflates to 1 GiB of zeros -> TOO_LARGE fast, with bounded memory", async () => {
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
    const ref = serveImage(registry, "bomb/one", "1", buildImage({ layer: bomb }));
    const result = await runWith(["oci", "extract", ref, ...flags], {}, { measure: true, timeoutMs: 60_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /larger than|inflates/);
    assert.ok((result.maxRssKb ?? Number.POSITIVE_INFINITY) < 400_000, `max RSS ${result.maxRssKb} KiB`);
    assert.ok(result.ms < 20_000, `took ${result.ms} ms`);
  });

  test("attack: an endless chunked manifest -> TOO_LARGE at the manifest cap", async () => {
    registry.override = (req, res) => {
      if (!req.url?.includes("/manifests/")) return false;
      endless(res, MEDIA.manifest);
      return true;
    };
    try {
      const result = await run([
        "oci",
        "stream-info",
        `${registry.host}/endless/manifest:1`,
        ...flags,
        "--json",
      ]);
      assert.equal(errorCode(result), "TOO_LARGE", result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  for (const which of ["config", "layer"] as const) {
    test(`attack: a manifest declares a 1 GiB ${which} and the registry sends it endlessly -> TOO_LARGE without reading it`, async () => {
      const layer = gzipLayer([STREAM_ENTRY]);
      const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
      const built = buildImage({
        layer,
        config,
        edit: (m) => {
          const d =
            which === "config" ? (m.config as { size: number }) : (m.layers as { size: number }[])[0]!;
          d.size = 1024 ** 3;
        },
      });
      const ref = serveImage(registry, `big/${which}`, "1", built);
      const target = sha256(which === "config" ? config : layer);
      registry.override = (req, res) => {
        if (!req.url?.endsWith(target)) return false;
        endless(res, "application/octet-stream");
        return true;
      };
      try {
        const result = await run(["oci", "extract", ref, ...flags]);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /larger than|more than/);
      } finally {
        registry.override = undefined;
      }
    });
  }

  test("attack: a blob longer than its descriptor says (digest of the longer bytes) -> refused", async () => {
    const layer = gzipLayer([CONFIGMAP_ENTRY, STREAM_ENTRY]);
    const built = buildImage({
      layer,
      edit: (m) => {
        (m.layers as { size: number }[])[0]!.size = layer.length - 100;
      },
    });
    const ref = serveImage(registry, "lying/size", "1", built);
    const result = await run(["oci", "extract", ref, ...flags]);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "");
  });

  test("attack: the token realm answers with an endless body -> TOO_LARGE", async () => {
    const realm = await startPeer((_req, res) => endless(res, "application/json"));
    registry.override = (_req, res) => {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${realm.url}/token",service="x"` }).end();
      return true;
    };
    try {
      const result = await run(["oci", "stream-info", `${registry.host}/auth/endless:1`, ...flags, "--json"]);
      assert.equal(errorCode(result), "TOO_LARGE", result.stderr);
    } finally {
      registry.override = undefined;
      await realm.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("hostile registries: deadlines", () => {
  let registry: HostileRegistry;
  let silent: Peer;
  before(async () => {
    registry = await startRegistry();
    silent = await startSilentServer();
  });
  after(async () => {
    await registry.close();
    await silent.close();
  });
  const flags = ["--tls-verify=false", "--timeout", "1"];

  test("attack: a registry that accepts TCP and never answers -> TIMEOUT naming the host", async () => {
    const result = await run(["oci", "stream-info", `${silent.host}/x/y:1`, ...flags, "--json"], 20_000);
    assert.equal(errorCode(result), "TIMEOUT", result.stderr);
    assert.ok(result.stderr.includes(silent.host), result.stderr);
  });

  test("BOOTSTREAM_TIMEOUT sets the registry deadlines when --timeout is not given", async () => {
    const running = startBootstream(
      ["oci", "stream-info", `${silent.host}/x/y:1`, "--tls-verify=false", "--json"],
      {
        BOOTSTREAM_TIMEOUT: "1",
      },
    );
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 20_000);
    const result = await running.done;
    clearTimeout(timer);
    assert.equal(errorCode(result), "TIMEOUT", result.stderr);
  });

  test("attack: a manifest body that stalls midway -> TIMEOUT naming the host", async () => {
    registry.override = (req, res) => {
      if (!req.url?.includes("/manifests/")) return false;
      res.writeHead(200, { "content-type": MEDIA.manifest, "content-length": "1000" });
      res.write('{"schemaVersion":2,');
      return true;
    };
    try {
      const result = await run(
        ["oci", "stream-info", `${registry.host}/stall/manifest:1`, ...flags, "--json"],
        20_000,
      );
      assert.equal(errorCode(result), "TIMEOUT", result.stderr);
      assert.ok(result.stderr.includes(registry.host), result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: a layer body that stalls midway -> TIMEOUT naming the host", async () => {
    const layer = gzipLayer([STREAM_ENTRY]);
    const ref = serveImage(registry, "stall/layer", "1", buildImage({ layer }));
    registry.override = (req, res) => {
      if (!req.url?.endsWith(sha256(layer))) return false;
      res.writeHead(200, { "content-length": String(layer.length) });
      res.write("\x1f\x8b");
      return true;
    };
    try {
      const result = await run(["oci", "extract", ref, ...flags], 20_000);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /sent nothing for/);
      assert.ok(result.stderr.includes(registry.host), result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: the token realm stalls -> TIMEOUT naming the realm's host", async () => {
    registry.override = (_req, res) => {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${silent.url}/token",service="x"` }).end();
      return true;
    };
    try {
      const result = await run(
        ["oci", "stream-info", `${registry.host}/stall/realm:1`, ...flags, "--json"],
        20_000,
      );
      assert.equal(errorCode(result), "TIMEOUT", result.stderr);
      assert.ok(result.stderr.includes(silent.host), result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: a registry that stalls an upload -> push reports TIMEOUT", async () => {
    registry.override = (req) => req.method === "POST" || req.method === "PATCH" || req.method === "PUT";
    try {
      const result = await run(
        ["oci", "push", fixturePath("fcos-stable-stream.json"), `${registry.host}/stall/push:1`, ...flags],
        20_000,
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /did not answer within/);
    } finally {
      registry.override = undefined;
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("hostile registries: credentials, redirects, types and messages", () => {
  let registry: HostileRegistry;
  let tlsRegistry: HostileRegistry;
  let tls: { key: string; cert: string; certPath: string };
  before(async () => {
    registry = await startRegistry();
    const dir = tempDir("bootstream-hostile-tls-");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    tls = {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      certPath: join(dir, "cert.pem"),
    };
    tlsRegistry = await startRegistry(tls);
  });
  after(async () => {
    await registry.close();
    await tlsRegistry.close();
  });
  const flags = ["--tls-verify=false", "--timeout", "5"];
  const trusted = () => ({ NODE_EXTRA_CA_CERTS: tls.certPath });

  test("the https test registry is trusted through NODE_EXTRA_CA_CERTS (control)", async () => {
    const ref = serveImage(tlsRegistry, "tls/ok", "1", buildImage({ layer: gzipLayer([STREAM_ENTRY]) }));
    const result = await runWith(["oci", "extract", ref, "--timeout", "5"], trusted());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, FCOS);
  });

  test("attack: an https registry points the token realm at plain http -> no credentials sent, UNAUTHORIZED", async () => {
    const realm = await startPeer((_req, res) => void res.writeHead(200).end('{"token":"t"}'));
    tlsRegistry.override = (req, res) => {
      if (req.headers.authorization === "Bearer t") return false;
      res.writeHead(401, { "www-authenticate": `Bearer realm="${realm.url}/token",service="x"` }).end();
      return true;
    };
    try {
      const ref = serveImage(tlsRegistry, "tls/realm", "1", buildImage({ layer: gzipLayer([STREAM_ENTRY]) }));
      const result = await runWith(
        ["oci", "stream-info", ref, "--creds", "alice:s3cret", "--timeout", "5", "--json"],
        trusted(),
      );
      assert.equal(errorCode(result), "UNAUTHORIZED", result.stderr);
      assert.deepEqual(
        realm.requests.filter((r) => r.authorization !== undefined),
        [],
        "the credentials went over plain http",
      );
    } finally {
      tlsRegistry.override = undefined;
      await realm.close();
    }
  });

  test("attack: an https registry redirects a blob to plain http -> refused", async () => {
    const layer = gzipLayer([STREAM_ENTRY]);
    const storage = await startPeer((_req, res) => void res.writeHead(200).end(layer));
    tlsRegistry.override = (req, res) => {
      if (!req.url?.includes("/blobs/")) return false;
      res.writeHead(307, { location: `${storage.url}/storage${req.url}` }).end();
      return true;
    };
    try {
      const ref = serveImage(tlsRegistry, "tls/downgrade", "1", buildImage({ layer }));
      const result = await runWith(["oci", "extract", ref, "--timeout", "5"], trusted());
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(storage.requests, []);
      assertOneLine(result);
    } finally {
      tlsRegistry.override = undefined;
      await storage.close();
    }
  });

  test("attack: the token realm is a file: URL -> UNAUTHORIZED, nothing read", async () => {
    registry.override = (_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Bearer realm="file:///etc/passwd",service="x"' }).end();
      return true;
    };
    try {
      const result = await run(["oci", "stream-info", `${registry.host}/realm/file:1`, ...flags, "--json"]);
      assert.equal(errorCode(result), "UNAUTHORIZED", result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: an upload Location on another host -> push refuses, the other host gets nothing", async () => {
    const other = await startPeer((_req, res) => void res.writeHead(202).end());
    const basic = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`;
    registry.override = (req, res) => {
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="x"' }).end();
        return true;
      }
      if (req.method !== "POST") return false;
      res.writeHead(202, { location: `${other.url}/upload/1` }).end();
      return true;
    };
    try {
      const result = await run([
        "oci",
        "push",
        fixturePath("fcos-stable-stream.json"),
        `${registry.host}/upload/elsewhere:1`,
        ...flags,
        "--creds",
        "alice:s3cret",
      ]);
      assert.notEqual(result.code, 0, result.stderr);
      assert.deepEqual(other.requests, [], "the upload went to another host");
    } finally {
      registry.override = undefined;
      await other.close();
    }
  });

  test("attack: a blob redirect to another host -> followed, without the registry's credentials", async () => {
    const layer = gzipLayer([CONFIGMAP_ENTRY, STREAM_ENTRY]);
    const storage = await startPeer((_req, res) => void res.writeHead(200).end(layer));
    const basic = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`;
    registry.override = (req, res) => {
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="x"' }).end();
        return true;
      }
      if (!req.url?.endsWith(sha256(layer))) return false;
      res.writeHead(307, { location: `${storage.url}/storage/layer?sig=1` }).end();
      return true;
    };
    try {
      const ref = serveImage(registry, "redirect/storage", "1", buildImage({ layer }));
      const result = await run(["oci", "extract", ref, ...flags, "--creds", "alice:s3cret"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, FCOS);
      assert.equal(storage.requests.length, 1);
      assert.equal(storage.requests[0]?.authorization, undefined);
    } finally {
      registry.override = undefined;
      await storage.close();
    }
  });

  test("attack: a registry error body with newlines and escape sequences -> a one-line message", async () => {
    registry.override = (_req, res) => {
      res.writeHead(500).end("oops\n\u001b[2J\u001b[31mbootstream: all good, exit 0\r\n");
      return true;
    };
    try {
      const result = await run(["oci", "stream-info", `${registry.host}/error/body:1`, ...flags]);
      assert.equal(result.code, 2, result.stderr);
      assertOneLine(result);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: a manifest served as a manifest whose mediaType says index -> INVALID_DOCUMENT", async () => {
    const built = buildImage({
      layer: gzipLayer([STREAM_ENTRY]),
      edit: (m) => {
        m.mediaType = MEDIA.index;
      },
    });
    const ref = serveImage(registry, "types/mismatch", "1", built);
    const result = await run(["oci", "stream-info", ref, ...flags, "--json"]);
    assert.equal(errorCode(result), "INVALID_DOCUMENT", result.stderr);
  });

  test("attack: a plain tar declared as a zstd layer -> INVALID_DOCUMENT naming the media type", async () => {
    const layer = hostileTar([STREAM_ENTRY]);
    const ref = serveImage(
      registry,
      "types/zstd",
      "1",
      buildImage({ layer, layerType: "application/vnd.oci.image.layer.v1.tar+zstd" }),
    );
    const result = await run(["oci", "extract", ref, ...flags]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /tar\+zstd/);
    assert.equal(result.stdout, "");
  });

  test("attack: a manifest pulled by digest whose bytes hash otherwise -> CHECKSUM_MISMATCH", async () => {
    const built = buildImage({ layer: gzipLayer([STREAM_ENTRY]) });
    const other = buildImage({ layer: gzipLayer([CONFIGMAP_ENTRY, STREAM_ENTRY]) });
    registry.manifests.set(`digest/lie@${built.manifestDigest}`, {
      bytes: other.manifest,
      type: MEDIA.manifest,
    });
    registry.override = (req, res) => {
      if (!req.url?.includes("/manifests/")) return false;
      // No Docker-Content-Digest: only the client's own check can catch it.
      res.writeHead(200, { "content-type": MEDIA.manifest }).end(other.manifest);
      return true;
    };
    try {
      const result = await run([
        "oci",
        "stream-info",
        `${registry.host}/digest/lie@${built.manifestDigest}`,
        ...flags,
        "--json",
      ]);
      assert.equal(errorCode(result), "CHECKSUM_MISMATCH", result.stderr);
    } finally {
      registry.override = undefined;
    }
  });

  test("attack: an image index where a stream image is expected -> INVALID_DOCUMENT", async () => {
    registry.override = (req, res) => {
      if (!req.url?.includes("/manifests/")) return false;
      res
        .writeHead(200, { "content-type": MEDIA.index })
        .end('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
      return true;
    };
    try {
      const result = await run(["oci", "stream-info", `${registry.host}/index/here:1`, ...flags, "--json"]);
      assert.equal(errorCode(result), "INVALID_DOCUMENT", result.stderr);
    } finally {
      registry.override = undefined;
    }
  });
});
