/**
 * The faithful-mirror rule over real upstream streams (FCOS stable, RHCOS 4.16) and what
 * `mirror` really writes for them, then hostile rewrites of those: each must be named by
 * pointer, and none may pass.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixturePath, tempDir } from "../../test/helpers/fixtures.ts";
import { BootstreamError, type Issue } from "../errors.ts";
import { type MirrorSelection, mirrorStream } from "../mirror/mirror.ts";
import type { Stream } from "../schema/stream.ts";
import { loadStream } from "../source/load.ts";
import { checkMirrorRewrite, mirrorRewriteIssues } from "./mirror-rewrite.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests edit deep JSON.
type Json = Record<string, any>;

const BASE = "https://mirror.internal/coreos/";

async function upstreamOf(file: string): Promise<Stream> {
  return (await loadStream(file)).stream;
}

/** What `bootstream mirror --metadata-only` writes for `upstream`, read back as a client would. */
async function mirrored(upstream: Stream, selection: MirrorSelection = {}, baseUrl = BASE): Promise<Json> {
  const directory = tempDir("bootstream-rewrite-");
  const { streamPath } = await mirrorStream(upstream, {
    directory,
    baseUrl,
    metadataOnly: true,
    ...selection,
  });
  return (await loadStream(streamPath)).stream as Json;
}

const issuesOf = (upstream: Stream, rewritten: Json) => mirrorRewriteIssues(upstream, rewritten as Stream);
const pointers = (issues: Issue[]) => issues.map((i) => i.pointer);

/** Exactly one issue, at `pointer`, whose message matches `message`. */
function assertOne(issues: Issue[], pointer: string, message: RegExp) {
  assert.deepEqual(pointers(issues), [pointer], JSON.stringify(issues, null, 2));
  assert.match(issues[0]?.message ?? "", message);
}

const FCOS = fixturePath("fcos-stable-stream.json");
const RHCOS = fixturePath("rhcos-installer-stream.json");
const ISO = "/architectures/x86_64/artifacts/metal/formats/iso/disk";

describe("mirrorRewriteIssues: what mirror writes is faithful", () => {
  it("accepts the upstream copy itself", async () => {
    const up = await upstreamOf(FCOS);
    assert.deepEqual(issuesOf(up, structuredClone(up) as Json), []);
  });

  it("accepts FCOS stable mirrored whole", async () => {
    const up = await upstreamOf(FCOS);
    const rw = await mirrored(up);
    assert.notEqual(rw.architectures.x86_64.artifacts.metal.formats.iso.disk.location, undefined);
    assert.ok(rw.architectures.x86_64.artifacts.metal.formats.iso.disk.location.startsWith(BASE));
    assert.deepEqual(issuesOf(up, rw), []);
  });

  it("accepts FCOS stable mirrored for x86_64 metal iso and pxe only", async () => {
    const up = await upstreamOf(FCOS);
    const rw = await mirrored(up, {
      architectures: ["x86_64"],
      platforms: ["metal"],
      formats: ["iso", "pxe"],
    });
    assert.deepEqual(Object.keys(rw.architectures), ["x86_64"]);
    assert.deepEqual(issuesOf(up, rw), []);
  });

  it("accepts RHCOS 4.16 mirrored for two architectures and two platforms, onto a base with a path and no final slash", async () => {
    const up = await upstreamOf(RHCOS);
    const rw = await mirrored(
      up,
      { architectures: ["aarch64", "x86_64"], platforms: ["metal", "qemu"] },
      "http://10.0.0.5:8080/rhcos",
    );
    assert.ok(rw.architectures.x86_64["rhel-coreos-extensions"], "extensions kept");
    assert.deepEqual(issuesOf(up, rw), []);
  });

  it("accepts a mirror of URLs with escapes and a query (the mirror keeps the decoded path only)", async () => {
    const dir = tempDir();
    const file = join(dir, "odd.json");
    writeFileSync(
      file,
      JSON.stringify({
        stream: "odd",
        metadata: { "last-modified": "2026-01-01T00:00:00Z" },
        architectures: {
          x86_64: {
            artifacts: {
              metal: {
                release: "1.0",
                formats: {
                  iso: {
                    disk: {
                      location: "https://origin.example/a%20dir/live%2Bx.iso?token=1",
                      signature: "https://origin.example/a%20dir/live%2Bx.iso.sig",
                      sha256: "a".repeat(64),
                    },
                  },
                },
              },
            },
            images: {},
          },
        },
      }),
    );
    const up = await upstreamOf(file);
    const rw = await mirrored(up);
    assert.equal(
      rw.architectures.x86_64.artifacts.metal.formats.iso.disk.location,
      `${BASE}a%20dir/live%2Bx.iso`,
    );
    assert.deepEqual(issuesOf(up, rw), []);
  });
});

describe("mirrorRewriteIssues: hostile rewrites are named", () => {
  /** FCOS stable and its real mirror of x86_64 + aarch64 metal. */
  async function pair(file = FCOS): Promise<{ up: Stream; rw: Json }> {
    const up = await upstreamOf(file);
    return { up, rw: await mirrored(up, { architectures: ["x86_64", "aarch64"], platforms: ["metal"] }) };
  }

  it("a changed sha256", async () => {
    const { up, rw } = await pair();
    rw.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256 = "0".repeat(64);
    assertOne(issuesOf(up, rw), `${ISO}/sha256`, /^sha256 differs from the upstream copy: "0{64}" here/);
  });

  it("a changed uncompressed-sha256", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats["raw.xz"].disk;
    disk["uncompressed-sha256"] = "1".repeat(64);
    assertOne(
      issuesOf(up, rw),
      "/architectures/x86_64/artifacts/metal/formats/raw.xz/disk/uncompressed-sha256",
      /uncompressed-sha256 differs from the upstream copy/,
    );
  });

  it("an added artifact, format, platform and architecture", async () => {
    const { up, rw } = await pair();
    const metal = rw.architectures.x86_64.artifacts.metal;
    metal.formats.iso.kernel = structuredClone(metal.formats.iso.disk);
    metal.formats.iso2 = structuredClone(metal.formats.iso);
    rw.architectures.x86_64.artifacts.pxe2 = structuredClone(metal);
    rw.architectures.riscv64 = structuredClone(rw.architectures.x86_64);
    const issues = issuesOf(up, rw);
    assert.deepEqual(pointers(issues).sort(), [
      "/architectures/riscv64",
      "/architectures/x86_64/artifacts/metal/formats/iso/kernel",
      "/architectures/x86_64/artifacts/metal/formats/iso2",
      "/architectures/x86_64/artifacts/pxe2",
    ]);
    for (const issue of issues) assert.equal(issue.message, "not in the upstream copy");
  });

  it("an artifact entry kept in part (disk without its sha256, or without its signature)", async () => {
    const { up, rw } = await pair();
    delete rw.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256;
    delete rw.architectures.aarch64.artifacts.metal.formats.pxe.kernel.signature;
    const issues = issuesOf(up, rw);
    assert.deepEqual(pointers(issues), [
      "/architectures/aarch64/artifacts/metal/formats/pxe/kernel/signature",
      `${ISO}/sha256`,
    ]);
    for (const issue of issues) assert.match(issue.message, /missing, .*kept whole or left out/);
  });

  it("a platform kept without its release, an architecture kept without its images", async () => {
    const { up, rw } = await pair();
    delete rw.architectures.x86_64.artifacts.metal.release;
    delete rw.architectures.x86_64.images;
    assert.deepEqual(pointers(issuesOf(up, rw)), [
      "/architectures/x86_64/artifacts/metal/release",
      "/architectures/x86_64/images",
    ]);
  });

  it("a location on a file with another name", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats.iso.disk;
    disk.location = disk.location.replace(/live-iso\.x86_64\.iso$/, "live-iso.x86_64.iso.old");
    assertOne(
      issuesOf(up, rw),
      `${ISO}/location`,
      /^location must keep the file name fedora-coreos-[\d.]+-live-iso\.x86_64\.iso, found/,
    );
  });

  it("a signature URL naming another artifact's signature", async () => {
    const { up, rw } = await pair();
    const formats = rw.architectures.x86_64.artifacts.metal.formats;
    formats.iso.disk.signature = formats.pxe.kernel.signature;
    assertOne(
      issuesOf(up, rw),
      `${ISO}/signature`,
      /^signature must keep the file name .*live-iso\.x86_64\.iso\.sig/,
    );
  });

  it("a location with the same file name in another directory (an older build's)", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats.iso.disk;
    disk.location = disk.location.replace(/builds\/[^/]+\//, "builds/40.20240101.3.0/");
    assertOne(
      issuesOf(up, rw),
      `${ISO}/location`,
      /^location must be the upstream path \/prod\/streams\/stable\/builds\//,
    );
  });

  it("a location with a query or fragment added", async () => {
    for (const suffix of ["?v=2", "#x"]) {
      const { up, rw } = await pair();
      rw.architectures.x86_64.artifacts.metal.formats.iso.disk.location += suffix;
      const issues = issuesOf(up, rw);
      assert.deepEqual(pointers(issues), [`${ISO}/location`], suffix);
    }
  });

  it("a location that is not http(s)", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats.iso.disk;
    disk.location = disk.location.replace(BASE, "file:///srv/mirror/");
    assertOne(issuesOf(up, rw), `${ISO}/location`, /^location must be an absolute http\(s\) URL/);
  });

  it("one artifact re-based onto another host than the rest", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats.iso.disk;
    disk.location = disk.location.replace(BASE, "https://evil.example/coreos/");
    assertOne(
      issuesOf(up, rw),
      `${ISO}/location`,
      /^location is re-based onto https:\/\/evil\.example\/coreos\/, but .* onto https:\/\/mirror\.internal\/coreos\/: a mirror has one base URL/,
    );
  });

  it("a URL outside an artifact entry re-based (images are never rewritten)", async () => {
    const { up, rw } = await pair(RHCOS);
    const ext = rw.architectures.x86_64["rhel-coreos-extensions"]["azure-disk"];
    ext.url = `${BASE}imagebucket/${ext.url.split("/").pop()}`;
    assertOne(
      issuesOf(up, rw),
      "/architectures/x86_64/rhel-coreos-extensions/azure-disk/url",
      /^url differs from the upstream copy/,
    );
  });

  it("a changed AMI, GCP image and kubevirt digest", async () => {
    const { up, rw } = await pair();
    const images = rw.architectures.x86_64.images;
    const region = Object.keys(images.aws.regions)[0] as string;
    images.aws.regions[region].image = "ami-0evil";
    images.gcp.name = "evil-image";
    images.kubevirt["digest-ref"] = `${images.kubevirt["digest-ref"].split("@")[0]}@sha256:${"e".repeat(64)}`;
    assert.deepEqual(pointers(issuesOf(up, rw)), [
      `/architectures/x86_64/images/aws/regions/${region}/image`,
      "/architectures/x86_64/images/gcp/name",
      "/architectures/x86_64/images/kubevirt/digest-ref",
    ]);
  });

  it("a changed stream name, last-modified, release, and an extra top-level key", async () => {
    const { up, rw } = await pair();
    rw.stream = "testing";
    rw.metadata["last-modified"] = "2030-01-01T00:00:00Z";
    rw.architectures.aarch64.artifacts.metal.release = "99.1";
    rw.extra = { note: "added by the mirror" };
    const issues = issuesOf(up, rw);
    assert.deepEqual(pointers(issues), [
      "/stream",
      "/metadata/last-modified",
      "/architectures/aarch64/artifacts/metal/release",
      "/extra",
    ]);
    assert.match(
      issues[0]?.message ?? "",
      /^stream differs from the upstream copy: "testing" here, "stable" there$/,
    );
  });

  it("metadata or architectures left out", async () => {
    const { up, rw } = await pair();
    delete rw.metadata;
    rw.architectures = undefined;
    const issues = issuesOf(up, JSON.parse(JSON.stringify(rw)));
    assert.deepEqual(pointers(issues), ["/metadata", "/architectures"]);
  });

  it("a value of another type (sha256 as an object, an artifact as a string)", async () => {
    const { up, rw } = await pair();
    const disk = rw.architectures.x86_64.artifacts.metal.formats.iso.disk;
    disk.sha256 = { value: disk.sha256 };
    rw.architectures.aarch64.artifacts.metal.formats.iso.disk = "gone";
    assert.deepEqual(pointers(issuesOf(up, rw)), [
      "/architectures/aarch64/artifacts/metal/formats/iso/disk",
      `${ISO}/sha256`,
    ]);
  });

  it("a __proto__ key added (own JSON property, not the prototype)", async () => {
    const { up, rw } = await pair();
    const hostile = JSON.parse(JSON.stringify(rw).replace(/^\{/, '{"__proto__":{"stream":"x"},'));
    assertOne(issuesOf(up, hostile), "/__proto__", /^not in the upstream copy$/);
  });

  it("arrays reordered or extended", async () => {
    const up = (await upstreamOf(FCOS)) as Json;
    up.metadata.notes = ["a", "b"];
    const reordered = structuredClone(up);
    reordered.metadata.notes = ["b", "a"];
    assert.deepEqual(pointers(issuesOf(up as Stream, reordered)), ["/metadata/notes/0", "/metadata/notes/1"]);
    const extended = structuredClone(up);
    extended.metadata.notes.push("c");
    assertOne(issuesOf(up as Stream, extended), "/metadata/notes/2", /^not in the upstream copy$/);
    const shortened = structuredClone(up);
    shortened.metadata.notes.pop();
    assertOne(issuesOf(up as Stream, shortened), "/metadata/notes/1", /^missing/);
  });

  it("a location re-based under a key that is not an artifact kind", async () => {
    const up = (await upstreamOf(FCOS)) as Json;
    const bonus = structuredClone(up.architectures.x86_64.artifacts.metal.formats.iso.disk);
    up.architectures.x86_64.artifacts.metal.formats.iso.bonus = bonus;
    const rw = structuredClone(up);
    rw.architectures.x86_64.artifacts.metal.formats.iso.bonus.location = `${BASE}x/${bonus.location.split("/").pop()}`;
    assertOne(
      issuesOf(up as Stream, rw),
      "/architectures/x86_64/artifacts/metal/formats/iso/bonus/location",
      /^location differs from the upstream copy/,
    );
  });

  it("leaves out whole entries the mirror did not select, and nothing else", async () => {
    const { up, rw } = await pair();
    delete rw.architectures.aarch64;
    delete rw.architectures.x86_64.artifacts.metal.formats.pxe.rootfs;
    delete rw.architectures.x86_64.artifacts.metal.formats["raw.xz"];
    assert.deepEqual(issuesOf(up, rw), []);
  });
});

describe("checkMirrorRewrite", () => {
  it("passes a faithful mirror and refuses a tampered one with SIGNATURE_INVALID naming the stream and the first issues", async () => {
    const up = await upstreamOf(FCOS);
    const rw = await mirrored(up, { architectures: ["x86_64"] });
    checkMirrorRewrite("https://mirror.internal/coreos/streams/stable.json", up, rw as Stream);
    rw.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256 = "0".repeat(64);
    rw.architectures.x86_64.artifacts.metal.formats.pxe.kernel.sha256 = "1".repeat(64);
    rw.architectures.x86_64.artifacts.metal.formats.pxe.rootfs.sha256 = "2".repeat(64);
    rw.architectures.x86_64.artifacts.metal.formats.pxe.initramfs.sha256 = "3".repeat(64);
    assert.throws(
      () => checkMirrorRewrite("https://mirror.internal/coreos/streams/stable.json", up, rw as Stream),
      (error: unknown) => {
        assert.ok(error instanceof BootstreamError);
        assert.equal(error.code, "SIGNATURE_INVALID");
        assert.equal(error.exitCode, 4);
        assert.equal(error.issues.length, 4);
        assert.match(
          error.message,
          /^https:\/\/mirror\.internal\/coreos\/streams\/stable\.json is not a faithful mirror of its signed upstream copy: \/architectures\/x86_64\/artifacts\/metal\/formats\/iso\/disk\/sha256: sha256 differs from the upstream copy.* \(and 1 more\)$/,
        );
        return true;
      },
    );
  });
});
