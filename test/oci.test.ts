/**
 * The stream image against real peers: skopeo (Debian) reads our layouts, the real
 * registry (Debian's docker-registry, started by scripts/registry-up.sh) takes our pushes
 * and skopeo copies them back; an auth proxy in front of that registry speaks the
 * bearer-token and basic challenges a protected registry sends.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { readTar } from "../src/oci/tar.ts";
import { runBootstream } from "./helpers/cli.ts";
import { fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep JSON.
type Json = Record<string, any>;
const RHCOS = fixturePath("rhcos-installer-stream.json");
const FCOS = fixturePath("fcos-stable-stream.json");

function registry(): string {
  const r = process.env.REGISTRY;
  assert.ok(r, "REGISTRY is not set: start the registry with scripts/registry-up.sh (npm test does it)");
  assert.match(r, /^127\.0\.0\.1:\d+$/, "the test registry must be on 127.0.0.1");
  return r;
}

const skopeo = (...args: string[]) => execFileSync("skopeo", args, { encoding: "utf8" });
const repo = (name: string) => `${registry()}/bootstream-test/${name}-${randomBytes(3).toString("hex")}`;

describe("oci build (image layout)", () => {
  it("writes a layout skopeo reads, labelled for release tooling, annotated with the stream", async () => {
    const dir = tempDir("bootstream-oci-");
    const run = await runBootstream(["oci", "build", RHCOS, "--layout", `${dir}:4.16`]);
    assert.equal(run.code, 0, run.stderr);
    const digest = run.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const inspect = JSON.parse(skopeo("inspect", `oci:${dir}:4.16`)) as Json;
    assert.equal(inspect.Digest, digest);
    assert.equal(inspect.Labels["io.openshift.release.operator"], "true");
    assert.equal(inspect.Created, "2024-05-31T14:21:46Z");
    const manifest = JSON.parse(skopeo("inspect", "--raw", `oci:${dir}:4.16`)) as Json;
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(manifest.annotations["io.coreos.bootstream.stream"], "rhcos-4.16");
    assert.equal(manifest.annotations["io.coreos.bootstream.last-modified"], "2024-05-31T14:21:46Z");
    assert.deepEqual(JSON.parse(manifest.annotations["io.coreos.bootstream.releases"]), {
      aarch64: "416.94.202405291527-0",
      ppc64le: "416.94.202405291527-0",
      s390x: "416.94.202405291527-0",
      x86_64: "416.94.202405291527-0",
    });
    assert.equal(manifest.annotations["org.opencontainers.image.created"], "2024-05-31T14:21:46Z");
    // The single layer holds the stream and the ConfigMap manifest.
    const layerDigest = (manifest.layers[0].digest as string).slice("sha256:".length);
    const files = readTar(gunzipSync(readFileSync(join(dir, "blobs/sha256", layerDigest))));
    assert.deepEqual([...files.keys()].sort(), [
      "manifests/coreos-bootimages.yaml",
      "usr/share/bootstream/rhcos-4.16.json",
    ]);
    assert.equal(
      files.get("usr/share/bootstream/rhcos-4.16.json")?.toString(),
      fixtureText("rhcos-installer-stream.json"),
    );
    assert.match(files.get("manifests/coreos-bootimages.yaml")?.toString() ?? "", /^kind: ConfigMap$/m);
  });

  it("is reproducible: the same stream gives the same digests, and other tags in the layout are kept", async () => {
    const a = tempDir("bootstream-oci-");
    const b = tempDir("bootstream-oci-");
    const first = await runBootstream(["oci", "build", FCOS, "--layout", a]);
    const second = await runBootstream(["oci", "build", FCOS, "--layout", b]);
    assert.equal(first.stdout, second.stdout);
    assert.deepEqual(
      readdirSync(join(a, "blobs/sha256")).sort(),
      readdirSync(join(b, "blobs/sha256")).sort(),
    );
    await runBootstream(["oci", "build", RHCOS, "--layout", `${a}:rhcos`]);
    const index = JSON.parse(readFileSync(join(a, "index.json"), "utf8")) as Json;
    assert.deepEqual(
      index.manifests.map((m: Json) => m.annotations["org.opencontainers.image.ref.name"]).sort(),
      ["rhcos", "stable"],
    );
  });

  it("extracts the stream back from a layout byte for byte, and refuses a corrupted blob", async () => {
    const dir = tempDir("bootstream-oci-");
    await runBootstream(["oci", "build", FCOS, "--layout", `${dir}:x`]);
    const out = await runBootstream(["oci", "extract", `oci:${dir}:x`]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, fixtureText("fcos-stable-stream.json"));
    const info = await runBootstream(["oci", "stream-info", `oci:${dir}:x`, "--json"]);
    assert.equal(JSON.parse(info.stdout).releases.x86_64, "44.20260707.3.1");
    const manifest = JSON.parse(skopeo("inspect", "--raw", `oci:${dir}:x`)) as Json;
    const layer = join(dir, "blobs/sha256", (manifest.layers[0].digest as string).slice(7));
    const bytes = readFileSync(layer);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    writeFileSync(layer, bytes);
    const bad = await runBootstream(["oci", "extract", `oci:${dir}:x`]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /hashes to sha256:/);
  });
});

describe("oci push / extract against a real registry", () => {
  it("pushes monolithically, skopeo inspects and copies it back to identical blobs, extract verifies", async () => {
    const ref = `${repo("stable")}:44`;
    const push = await runBootstream(["oci", "push", FCOS, ref, "--tls-verify=false"]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /\(2 blobs uploaded\)/);
    const digest = push.stdout.trim();
    const inspect = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${ref}`)) as Json;
    assert.equal(inspect.Digest, digest);
    assert.equal(inspect.Labels["io.openshift.release.operator"], "true");
    const layout = tempDir("bootstream-oci-");
    await runBootstream(["oci", "build", FCOS, "--layout", `${layout}:built`]);
    const copied = tempDir("bootstream-oci-");
    skopeo("copy", "--src-tls-verify=false", `docker://${ref}`, `oci:${copied}:copied`);
    assert.deepEqual(
      readdirSync(join(copied, "blobs/sha256")).sort(),
      readdirSync(join(layout, "blobs/sha256")).sort(),
    );
    const extracted = await runBootstream(["oci", "extract", ref, "--tls-verify=false"]);
    assert.equal(extracted.code, 0, extracted.stderr);
    assert.equal(extracted.stdout, fixtureText("fcos-stable-stream.json"));
    const again = await runBootstream(["oci", "push", FCOS, ref, "--tls-verify=false"]);
    assert.match(again.stderr, /\(0 blobs uploaded\)/, "blobs already there are not sent again");
  });

  it("pushes in chunks (PATCH) and the result is the same image", async () => {
    const ref = `${repo("chunked")}:1`;
    const push = await runBootstream([
      "oci",
      "push",
      RHCOS,
      ref,
      "--tls-verify=false",
      "--chunk-size",
      "1000",
    ]);
    assert.equal(push.code, 0, push.stderr);
    const layout = tempDir("bootstream-oci-");
    const built = await runBootstream(["oci", "build", RHCOS, "--layout", layout]);
    assert.equal(push.stdout, built.stdout);
    const out = tempDir();
    const extract = await runBootstream([
      "oci",
      "extract",
      ref,
      "--tls-verify=false",
      "-o",
      join(out, "s.json"),
    ]);
    assert.equal(extract.code, 0, extract.stderr);
    assert.equal(readFileSync(join(out, "s.json"), "utf8"), fixtureText("rhcos-installer-stream.json"));
    const cm = await runBootstream(["oci", "extract", ref, "--tls-verify=false", "--configmap"]);
    assert.match(cm.stdout, /^ {2}name: coreos-bootimages$/m);
  });

  it("fails cleanly for a missing image and an https-only attempt at a plain-http registry", async () => {
    const missing = await runBootstream(["oci", "extract", `${repo("nope")}:1`, "--tls-verify=false"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404/);
    const tls = await runBootstream(["oci", "stream-info", `${repo("nope")}:1`]);
    assert.equal(tls.code, 2);
    assert.match(tls.stderr, /cannot reach 127\.0\.0\.1:\d+/);
  });
});

/** An auth front for the real registry: bearer tokens from a realm, or basic credentials. */
function authProxy(mode: "bearer" | "basic"): Promise<{ host: string; server: Server; requests: string[] }> {
  const upstream = registry();
  const requests: string[] = [];
  const basic = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`;
  const server = createServer((req, res) => {
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    requests.push(`${req.method} ${req.url}`);
    if (req.url?.startsWith("/token")) {
      if (req.headers.authorization !== basic) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t0k3n" }));
      return;
    }
    const ok =
      mode === "bearer" ? req.headers.authorization === "Bearer t0k3n" : req.headers.authorization === basic;
    if (!ok) {
      const challenge =
        mode === "bearer"
          ? `Bearer realm="http://${host}/token",service="test-registry",scope="repository:x:pull,push"`
          : 'Basic realm="test-registry"';
      res
        .writeHead(401, { "www-authenticate": challenge, "content-type": "application/json" })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const forward = request(
      {
        host: "127.0.0.1",
        port: Number(upstream.split(":")[1]),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream },
      },
      (up) => {
        const headers = { ...up.headers };
        if (typeof headers.location === "string")
          headers.location = headers.location.replace(`http://${upstream}`, `http://${host}`);
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    req.pipe(forward);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests }),
    ),
  );
}

describe("registry authentication", () => {
  let bearer: Awaited<ReturnType<typeof authProxy>>;
  let basic: Awaited<ReturnType<typeof authProxy>>;
  before(async () => {
    bearer = await authProxy("bearer");
    basic = await authProxy("basic");
  });
  after(() => {
    bearer.server.closeAllConnections();
    bearer.server.close();
    basic.server.closeAllConnections();
    basic.server.close();
  });

  it("gets a bearer token from the realm with the credentials, then pushes and reads", async () => {
    const ref = `${bearer.host}/bootstream-test/auth-${randomBytes(3).toString("hex")}:1`;
    const push = await runBootstream([
      "oci",
      "push",
      FCOS,
      ref,
      "--tls-verify=false",
      "--creds",
      "alice:s3cret",
    ]);
    assert.equal(push.code, 0, push.stderr);
    assert.ok(
      bearer.requests.some((r) => r.startsWith("GET /token?") && r.includes("service=test-registry")),
    );
    bearer.requests.length = 0;
    const info = await runBootstream(["oci", "stream-info", ref, "--tls-verify=false"], {
      env: { BOOTSTREAM_REGISTRY_CREDS: "alice:s3cret" },
    });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^x86_64\s+44\.20260707\.3\.1$/m);
    assert.ok(
      !bearer.requests.some((r) => r.includes("/blobs/")),
      `stream-info pulls no blob: ${bearer.requests.join(", ")}`,
    );
  });

  it("uses basic credentials when the registry asks for them", async () => {
    const ref = `${basic.host}/bootstream-test/basic-${randomBytes(3).toString("hex")}:1`;
    const push = await runBootstream([
      "oci",
      "push",
      RHCOS,
      ref,
      "--tls-verify=false",
      "--creds",
      "alice:s3cret",
    ]);
    assert.equal(push.code, 0, push.stderr);
    const extract = await runBootstream([
      "oci",
      "extract",
      ref,
      "--tls-verify=false",
      "--creds",
      "alice:s3cret",
    ]);
    assert.equal(extract.stdout, fixtureText("rhcos-installer-stream.json"));
  });

  it("refuses without or with wrong credentials (exit 2, UNAUTHORIZED)", async () => {
    const ref = `${bearer.host}/bootstream-test/denied:1`;
    const none = await runBootstream(["oci", "push", FCOS, ref, "--tls-verify=false"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /token request .* refused \(HTTP 401\)/);
    const wrong = await runBootstream([
      "oci",
      "push",
      FCOS,
      `${basic.host}/bootstream-test/denied:1`,
      "--tls-verify=false",
      "--creds",
      "alice:nope",
    ]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /refused the credentials/);
  });
});
