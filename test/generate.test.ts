import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateStream } from "../src/generate/stream.ts";
import {
  parseDocument,
  parseRelease,
  parseReleaseIndex,
  parseStream,
  toCanonicalJSON,
  VERSION,
} from "../src/index.ts";
import { runBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";
import { sendText, startServer, type TestServer } from "./helpers/http.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests build and mutate deep JSON freely.
type Json = Record<string, any>;
const dir = tempDir();
const FCOS_META = fixturePath("cosa-meta-fcos.json");
const RHCOS_META = fixturePath("cosa-meta-rhcos.json");
const BASE = "https://builds.coreos.fedoraproject.org/prod/streams";

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return path;
}

/** The FCOS fixture build as another architecture, with the extras newer builds carry. */
function aarch64Meta(): string {
  const meta = fixtureJson<Json>("cosa-meta-fcos.json");
  const text = JSON.stringify(meta).replaceAll(".x86_64.", ".aarch64.").replaceAll("-x86_64", "-aarch64");
  const m = JSON.parse(text) as Json;
  m["coreos-assembler.basearch"] = "aarch64";
  delete m.amis;
  m.images.metal4k = {
    path: "fedora-coreos-31.20200310.20.0-metal4k.aarch64.raw.xz",
    sha256: "a".repeat(64),
  };
  m.images["ignition-gpg-key"] = {
    path: "fedora-coreos-31.20200310.20.0-ignition-gpg-key.aarch64.gpg.pub",
    sha256: "b".repeat(64),
  };
  m["base-oscontainer"] = {
    image: "quay.io/fedora/fedora-coreos",
    digest: `sha256:${"c".repeat(64)}`,
    tags: ["31.20200310.20.0", "testing-devel"],
  };
  m.kubevirt = {
    image: "quay.io/fedora/fedora-coreos-kubevirt",
    digest: `sha256:${"d".repeat(64)}`,
    tags: ["31.20200310.20.0", "testing-devel"],
  };
  m.ibmcloud = [
    {
      url: "https://s3.us-east.cloud-object-storage.appdomain.cloud/b/o.qcow2",
      object: "o.qcow2",
      bucket: "b",
      region: "us-east",
    },
  ];
  m["aws-winli"] = [{ name: "us-east-1", hvm: "ami-0winli", snapshot: "snap-1" }];
  return write("meta-aarch64.json", m);
}

async function generate(args: string[]): Promise<Json> {
  const run = await runBootstream(["generate", ...args]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

describe("generate release", () => {
  it("turns the FCOS build meta into release.json with the builds-site URL layout", async () => {
    const release = await generate(["release", "--meta", FCOS_META, "--stream", "testing-devel"]);
    assert.equal(release.release, "31.20200310.20.0");
    assert.equal(release.stream, "testing-devel");
    const x86 = release.architectures.x86_64;
    assert.equal(x86.commit, "981ddd48f99d8d30caa85c81e02ab4f0d20b957f031db81b7bccfe8f54b679ce");
    const qemu = x86.media.qemu.artifacts["qcow2.xz"].disk;
    const loc = `${BASE}/testing-devel/builds/31.20200310.20.0/x86_64/fedora-coreos-31.20200310.20.0-qemu.x86_64.qcow2.xz`;
    assert.deepEqual(qemu, {
      location: loc,
      signature: `${loc}.sig`,
      sha256: "99f76fe3bc89818aca638c754610997730d5f58a1850446a00bff9e51309c67a",
      "uncompressed-sha256": fixtureJson<Json>("cosa-meta-fcos.json").images.qemu["uncompressed-sha256"],
    });
    // The ISO has no uncompressed digest: Python writes None, i.e. null.
    assert.equal(x86.media.metal.artifacts.iso.disk["uncompressed-sha256"], null);
    assert.deepEqual(Object.keys(x86.media.metal.artifacts.pxe), ["kernel", "initramfs", "rootfs"]);
    assert.ok(x86.media.metal.artifacts["raw.xz"].disk.location.endsWith("-metal.x86_64.raw.xz"));
    assert.deepEqual(x86.media.aws.images, { "us-east-1": { image: "ami-050291f5347c66dbb" } });
    assert.deepEqual(
      Object.keys(x86.media),
      Object.keys(x86.media).sort(),
      "media written in Go (sorted) order",
    );
    assert.equal(parseDocument(JSON.stringify(release)).kind, "release");
  });

  it("handles the RHCOS build meta: legacy installer media, aliyun, gcp and the azure-disk extension", async () => {
    const release = await generate([
      "release",
      "--meta",
      RHCOS_META,
      "--stream",
      "rhcos-4.4",
      "--base-url",
      "https://rhcos.mirror.openshift.com/art/storage/prod/streams/",
    ]);
    const x86 = release.architectures.x86_64;
    assert.match(
      x86.media.metal.artifacts["installer.iso"].disk.location,
      /^https:\/\/rhcos\.mirror\.openshift\.com\/art\/storage\/prod\/streams\/rhcos-4\.4\/builds\/44devel\.81\.202001151926\.0\/x86_64\/rhcos-44devel\.81\.202001151926\.0-installer\.x86_64\.iso$/,
    );
    assert.deepEqual(Object.keys(x86.media.metal.artifacts["installer-pxe"]), ["kernel", "initramfs"]);
    assert.deepEqual(x86.media.aliyun.images, {
      "cn-shanghai": { image: "m-rj000000aaaa111azzzz" },
      "us-west-1": { image: "m-rj000000aaaa111azzzz" },
    });
    assert.deepEqual(x86.media.gcp.image, { name: "rhcos-44devel-81-202001151926-0" });
    assert.deepEqual(x86["rhel-coreos-extensions"], {
      "azure-disk": {
        url: "https://example.org/imagebucket/rhcos-44devel.81.202001151926.0-azure.x86_64.vhd",
      },
    });
    assert.equal(x86["oci-image"], undefined, "oscontainer is not base-oscontainer");
    parseRelease(JSON.stringify(release));
  });

  it("merges several architectures of one build, with OCI image, kubevirt, ibmcloud, metal4k and extensions", async () => {
    const release = await generate([
      "release",
      "--meta",
      FCOS_META,
      "--meta",
      aarch64Meta(),
      "--stream",
      "testing-devel",
    ]);
    assert.deepEqual(Object.keys(release.architectures), ["aarch64", "x86_64"]);
    const arm = release.architectures.aarch64;
    assert.deepEqual(arm["oci-image"], {
      image: "quay.io/fedora/fedora-coreos:testing-devel",
      "digest-ref": `quay.io/fedora/fedora-coreos@sha256:${"c".repeat(64)}`,
    });
    assert.deepEqual(arm.media.kubevirt.image, {
      image: "quay.io/fedora/fedora-coreos-kubevirt:testing-devel",
      "digest-ref": `quay.io/fedora/fedora-coreos-kubevirt@sha256:${"d".repeat(64)}`,
    });
    assert.deepEqual(arm.media.ibmcloud.images, {
      "us-east": {
        object: "o.qcow2",
        bucket: "b",
        url: "https://s3.us-east.cloud-object-storage.appdomain.cloud/b/o.qcow2",
      },
    });
    assert.ok(arm.media.metal.artifacts["4k.raw.xz"].disk.location.endsWith("-metal4k.aarch64.raw.xz"));
    assert.ok(arm.media["qemu-secex"]["ignition-gpg-key"].location.endsWith(".gpg.pub"));
    assert.deepEqual(arm["rhel-coreos-extensions"]["aws-winli"], {
      images: { "us-east-1": { image: "ami-0winli" } },
    });
  });

  it("writes empty signatures with --no-signatures", async () => {
    const release = await generate(["release", "--meta", FCOS_META, "--stream", "s", "--no-signatures"]);
    assert.equal(release.architectures.x86_64.media.qemu.artifacts["qcow2.xz"].disk.signature, "");
  });

  it("refuses builds of different versions and a duplicated architecture", async () => {
    const other = fixtureJson<Json>("cosa-meta-fcos.json");
    other.buildid = "31.20200311.20.0";
    const versions = await runBootstream([
      "generate",
      "release",
      "--meta",
      FCOS_META,
      "--meta",
      write("other.json", other),
      "--stream",
      "s",
    ]);
    assert.equal(versions.code, 1);
    assert.match(
      versions.stderr,
      /--meta #2: is build 31\.20200311\.20\.0, expected 31\.20200310\.20\.0: every --meta must come from the same build/,
    );
    const dup = await runBootstream([
      "generate",
      "release",
      "--meta",
      FCOS_META,
      "--meta",
      FCOS_META,
      "--stream",
      "s",
    ]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /--meta #2: repeats architecture x86_64/);
  });

  it("takes the stream name from the build's config branch when --stream is absent", async () => {
    const release = await generate(["release", "--meta", FCOS_META]);
    assert.equal(release.stream, "testing-devel");
  });
});

describe("generate stream", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ "/release.json": sendText(fixtureText("smg-fcos-release.json")) });
  });
  after(() => server.close());

  it("translates smg-fcos-release.json exactly as formats.md section 9 says (expected output written independently)", () => {
    // test/fixtures/expected/README.md: derived by a separate implementation of the rules. Upstream's
    // smg-fcos-stream.json is NOT this translation: it was edited by hand (aliyun images, kubevirt differ).
    const stream = generateStream([{ release: parseRelease(fixtureText("smg-fcos-release.json")) }], {
      stream: "stable",
      lastModified: "2020-12-17T14:18:43Z",
      generator: "bootstream 0.1.0",
    });
    const expected = readFileSync(
      new URL("./fixtures/expected/smg-fcos-release.stream.json", import.meta.url),
      "utf8",
    );
    assert.equal(toCanonicalJSON(stream, { kind: "stream" }), expected);
    assert.notEqual(expected, fixtureText("smg-fcos-stream.json"));
  });

  it("stamps generator and last-modified, from a file or a URL", async () => {
    const byUrl = await generate([
      "stream",
      "--release",
      `${server.url}/release.json`,
      "--stream",
      "stable",
      "--last-modified",
      "2021-01-01T00:00:00Z",
    ]);
    assert.deepEqual(byUrl.metadata, {
      "last-modified": "2021-01-01T00:00:00Z",
      generator: `bootstream ${VERSION}`,
    });
    const now = await generate([
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
    ]);
    const stamped = Date.parse(now.metadata["last-modified"]);
    assert.match(now.metadata["last-modified"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(stamped - Date.now()) < 60_000);
    const epoch = await runBootstream(
      ["generate", "stream", "--release", fixturePath("smg-fcos-release.json"), "--stream", "stable"],
      {
        env: { SOURCE_DATE_EPOCH: "1608214723" },
      },
    );
    assert.equal(JSON.parse(epoch.stdout).metadata["last-modified"], "2020-12-17T14:18:43Z");
  });

  it("carries RHCOS extensions only with their platform, and writes images: {} for an arch without images", () => {
    const release = parseRelease(
      JSON.stringify({
        release: "416.94.1-0",
        stream: "rhcos-4.16",
        architectures: {
          x86_64: {
            media: { azure: { artifacts: {} }, metal: { artifacts: {} } },
            "rhel-coreos-extensions": {
              "azure-disk": { url: "https://rhcos.blob.core.windows.net/imagebucket/a.vhd" },
              "aws-winli": { images: { "us-east-1": { image: "ami-1" } } },
            },
          },
        },
      }),
    );
    const stream = generateStream([{ release }], {
      stream: "rhcos-4.16",
      lastModified: "2024-05-31T14:21:46Z",
    });
    assert.deepEqual(stream.architectures.x86_64?.images, {});
    assert.deepEqual(stream.architectures.x86_64?.["rhel-coreos-extensions"], {
      "azure-disk": { release: "416.94.1-0", url: "https://rhcos.blob.core.windows.net/imagebucket/a.vhd" },
    });
  });

  it("combines architectures from several releases, ARCH=FILE picks one, and a doubled arch is refused", async () => {
    const rel = fixtureJson<Json>("smg-fcos-release.json");
    const s390x = JSON.parse(
      JSON.stringify(rel).replaceAll("x86_64", "s390x").replaceAll("33.20201201.3.0", "33.20201201.3.1"),
    );
    s390x.release = "33.20201201.3.1";
    const s390xFile = write("release-s390x.json", s390x);
    const both = await generate([
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--release",
      s390xFile,
      "--stream",
      "stable",
    ]);
    assert.deepEqual(Object.keys(both.architectures), ["s390x", "x86_64"]);
    assert.equal(both.architectures.s390x.artifacts.metal.release, "33.20201201.3.1");
    const picked = await generate(["stream", "--release", `s390x=${s390xFile}`, "--stream", "stable"]);
    assert.deepEqual(Object.keys(picked.architectures), ["s390x"]);
    const doubled = await runBootstream([
      "generate",
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--release",
      `x86_64=${fixturePath("smg-fcos-release.json")}`,
      "--stream",
      "stable",
    ]);
    assert.equal(doubled.code, 2);
    assert.match(doubled.stderr, /architecture x86_64 comes from both/);
    const missing = await runBootstream([
      "generate",
      "stream",
      "--release",
      `ppc64le=${s390xFile}`,
      "--stream",
      "stable",
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no architecture ppc64le; it has s390x/);
  });

  it("--from replaces only the architectures given, as cosa2stream does", async () => {
    const out = await generate([
      "stream",
      "--from",
      fixturePath("fcos-stable-stream.json"),
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
    ]);
    assert.equal(out.architectures.x86_64.artifacts.metal.release, "33.20201201.3.0");
    assert.equal(out.architectures.aarch64.artifacts.metal.release, "44.20260707.3.1");
  });

  it("applies an override file: pin a region image and remove a platform (YAML and JSON)", async () => {
    const yaml = write(
      "override.yaml",
      `architectures:
  x86_64:
    remove:
      - /artifacts/vmware
      - /images/aws/regions/ap-east-1
    pin:
      /images/aws/regions/me-south-1: { release: 33.20201117.3.2, image: ami-0pinned }
`,
    );
    const out = await generate([
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
      "--override",
      yaml,
    ]);
    const x86 = out.architectures.x86_64;
    assert.equal(x86.artifacts.vmware, undefined);
    assert.equal(x86.images.aws.regions["ap-east-1"], undefined);
    assert.deepEqual(x86.images.aws.regions["me-south-1"], {
      release: "33.20201117.3.2",
      image: "ami-0pinned",
    });
    parseStream(JSON.stringify(out));
    const json = write("override.json", { architectures: { x86_64: { remove: ["/images/gcp"] } } });
    const out2 = await generate([
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
      "--override",
      json,
    ]);
    assert.equal(out2.architectures.x86_64.images.gcp, undefined);
  });

  it("refuses an override that removes what is not there or names an unknown key", async () => {
    const missing = write("o1.yaml", "architectures:\n  x86_64:\n    remove: [/artifacts/nope]\n");
    const run = await runBootstream([
      "generate",
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
      "--override",
      missing,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /override removes x86_64 \/artifacts\/nope, which the stream does not have/);
    const typo = write("o2.yaml", "architectures:\n  x86_64:\n    delete: [/artifacts/vmware]\n");
    const bad = await runBootstream([
      "generate",
      "stream",
      "--release",
      fixturePath("smg-fcos-release.json"),
      "--stream",
      "stable",
      "--override",
      typo,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /o2\.yaml: \/architectures\/x86_64: /);
  });
});

describe("generate index", () => {
  const release = fixturePath("smg-fcos-release.json");

  it("creates an index when absent, then adding the same release again changes nothing", async () => {
    const index = join(dir, "new-releases.json");
    const first = await runBootstream([
      "generate",
      "index",
      "--existing",
      index,
      "--release",
      release,
      "--stream",
      "stable",
      "-o",
      index,
      "--last-modified",
      "2021-01-01T00:00:00Z",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const text = readFileSync(index, "utf8");
    const parsed = parseReleaseIndex(text);
    assert.deepEqual(parsed.releases, [
      {
        commits: [
          {
            architecture: "x86_64",
            checksum: fixtureJson<Json>("smg-fcos-release.json").architectures.x86_64.commit,
          },
        ],
        "oci-images": [
          {
            ...fixtureJson<Json>("smg-fcos-release.json").architectures.x86_64["oci-image"],
            architecture: "x86_64",
          },
        ],
        version: "33.20201201.3.0",
        metadata: `${BASE}/stable/builds/33.20201201.3.0/release.json`,
      },
    ]);
    const again = await runBootstream([
      "generate",
      "index",
      "--existing",
      index,
      "--release",
      release,
      "--stream",
      "stable",
      "-o",
      index,
    ]);
    assert.equal(again.code, 0);
    assert.equal(readFileSync(index, "utf8"), text, "idempotent: same bytes, last-modified kept");
  });

  it("appends to the upstream index, newest last", async () => {
    const rel = fixtureJson<Json>("smg-fcos-release.json");
    const newer = JSON.parse(JSON.stringify(rel).replaceAll("33.20201201.3.0", "33.20210104.3.0"));
    const out = await generate([
      "index",
      "--existing",
      fixturePath("smg-fcos-releases.json"),
      "--release",
      write("newer.json", newer),
      "--stream",
      "stable",
    ]);
    const upstream = fixtureJson<Json>("smg-fcos-releases.json");
    assert.equal(out.releases.length, upstream.releases.length + 1);
    assert.equal(out.releases.at(-1).version, "33.20210104.3.0");
    assert.equal(out.note, upstream.note);
  });

  it("refuses a version that already points elsewhere, and an older version", async () => {
    const index = join(dir, "conflict-releases.json");
    await runBootstream([
      "generate",
      "index",
      "--existing",
      index,
      "--release",
      release,
      "--stream",
      "stable",
      "-o",
      index,
    ]);
    const elsewhere = await runBootstream([
      "generate",
      "index",
      "--existing",
      index,
      "--release",
      release,
      "--stream",
      "stable",
      "--base-url",
      "https://example.com/streams",
    ]);
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /33\.20201201\.3\.0 is already in the index with different content/);
    const older = await runBootstream([
      "generate",
      "index",
      "--existing",
      fixturePath("smg-fcos-releases.json"),
      "--release",
      release,
      "--stream",
      "stable",
    ]);
    assert.equal(older.code, 1);
    assert.match(older.stderr, /33\.20201201\.3\.0 is already in the index and is not the newest entry/);
  });
});
