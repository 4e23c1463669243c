import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { assertFails } from "../../test/helpers/errors.ts";
import { parseStream } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import {
  findArtifacts,
  findImage,
  getArchitecture,
  isRegionalPlatform,
  listArtifacts,
  listImages,
} from "./index.ts";

const fixture = (name: string): Stream =>
  parseStream(readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), "utf8"));
const fcos = fixture("fcos-stable-stream.json");
const rhcos = fixture("rhcos-installer-stream.json");
const FCOS = "44.20260707.3.1";

describe("getArchitecture", () => {
  test("returns the entry", () => {
    assert.equal(getArchitecture(fcos, "x86_64"), fcos.architectures.x86_64);
  });
  test("a missing one, or an inherited property name, is NOT_FOUND at /architectures", () => {
    assertFails(() => getArchitecture(fcos, "riscv64"), "NOT_FOUND", "/architectures");
    assertFails(() => getArchitecture(fcos, "toString"), "NOT_FOUND", "/architectures");
    assertFails(() => getArchitecture(fcos, "__proto__"), "NOT_FOUND", "/architectures");
  });
});

describe("findArtifacts", () => {
  test("PXE gives kernel, initramfs and rootfs in slot order, with pointers and release", () => {
    const refs = findArtifacts(fcos, { architecture: "x86_64", platform: "metal", format: "pxe" });
    assert.deepEqual(
      refs.map((r) => r.kind),
      ["kernel", "initramfs", "rootfs"],
    );
    for (const r of refs) {
      assert.equal(r.release, FCOS);
      assert.equal(r.pointer, `/architectures/x86_64/artifacts/metal/formats/pxe/${r.kind}`);
      assert.ok(r.artifact.location.endsWith(".img") || r.artifact.location.includes(r.kind));
    }
  });

  test("without platform or format: every platform and format, sorted", () => {
    const refs = findArtifacts(fcos, { architecture: "x86_64" });
    const platforms = [...new Set(refs.map((r) => r.platform))];
    assert.deepEqual(platforms, Object.keys(fcos.architectures.x86_64?.artifacts ?? {}).sort());
    const metal = refs.filter((r) => r.platform === "metal").map((r) => `${r.format}/${r.kind}`);
    assert.deepEqual(metal, [
      "4k.raw.xz/disk",
      "iso/disk",
      "pxe/kernel",
      "pxe/initramfs",
      "pxe/rootfs",
      "raw.xz/disk",
    ]);
  });

  test("kind filters across formats", () => {
    const refs = findArtifacts(fcos, { architecture: "x86_64", platform: "metal", kind: "kernel" });
    assert.deepEqual(
      refs.map((r) => r.format),
      ["pxe"],
    );
  });

  test("misses are NOT_FOUND with the pointer of the map that lacks the key", () => {
    assertFails(() => findArtifacts(fcos, { architecture: "riscv64" }), "NOT_FOUND", "/architectures");
    assertFails(
      () => findArtifacts(fcos, { architecture: "x86_64", platform: "nope" }),
      "NOT_FOUND",
      "/architectures/x86_64/artifacts",
    );
    assertFails(
      () => findArtifacts(fcos, { architecture: "x86_64", platform: "metal", format: "vhd" }),
      "NOT_FOUND",
      "/architectures/x86_64/artifacts/metal/formats",
    );
    assertFails(
      () => findArtifacts(fcos, { architecture: "x86_64", platform: "metal", format: "iso", kind: "kernel" }),
      "NOT_FOUND",
      "/architectures/x86_64/artifacts/metal/formats/iso",
    );
    assertFails(
      () => findArtifacts(fcos, { architecture: "x86_64", platform: "qemu", kind: "rootfs" }),
      "NOT_FOUND",
      "/architectures/x86_64/artifacts",
    );
  });

  test("listArtifacts covers every architecture in sorted order", () => {
    const refs = listArtifacts(fcos);
    assert.deepEqual(
      [...new Set(refs.map((r) => r.architecture))],
      ["aarch64", "ppc64le", "s390x", "x86_64"],
    );
    assert.equal(
      refs.length,
      Object.keys(fcos.architectures).reduce(
        (n, a) => n + findArtifacts(fcos, { architecture: a }).length,
        0,
      ),
    );
  });
});

describe("images", () => {
  test("regional platforms", () => {
    assert.equal(isRegionalPlatform("aws"), true);
    assert.equal(isRegionalPlatform("aws-winli"), true);
    assert.equal(isRegionalPlatform("gcp"), false);
    assert.equal(isRegionalPlatform("azure-disk"), false);
    assert.equal(isRegionalPlatform("toString"), false);
  });

  test("listImages gives one row per region, sorted, and one per non-regional platform", () => {
    const all = listImages(fcos, { architecture: "x86_64" });
    const aws = all.filter((i) => i.platform === "aws");
    assert.equal(aws.length, Object.keys(fcos.architectures.x86_64?.images?.aws?.regions ?? {}).length);
    assert.deepEqual(
      aws.map((i) => i.region),
      aws.map((i) => i.region).sort(),
    );
    assert.equal(aws[0]?.pointer, `/architectures/x86_64/images/aws/regions/${aws[0]?.region}`);
    const gcp = all.filter((i) => i.platform === "gcp");
    assert.equal(gcp.length, 1);
    assert.equal(gcp[0]?.region, undefined);
    assert.equal(gcp[0]?.project, "fedora-coreos-cloud");
    assert.equal(gcp[0]?.pointer, "/architectures/x86_64/images/gcp");
    assert.deepEqual(listImages(fcos, { architecture: "ppc64le" }), []);
  });

  test("an image platform the architecture lacks is NOT_FOUND", () => {
    assertFails(
      () => listImages(fcos, { architecture: "s390x", platform: "aws" }),
      "NOT_FOUND",
      "/architectures/s390x/images",
    );
  });

  test("azure-disk lives under rhel-coreos-extensions", () => {
    const [disk] = listImages(rhcos, { architecture: "x86_64", platform: "azure-disk" });
    assert.equal(disk?.pointer, "/architectures/x86_64/rhel-coreos-extensions/azure-disk");
    assert.match(disk?.url ?? "", /\.vhd$/);
  });

  test("findImage: non-regional, regional with region, and their errors", () => {
    const kubevirt = findImage(fcos, { architecture: "x86_64", platform: "kubevirt" });
    assert.equal(kubevirt.image, "quay.io/fedora/fedora-coreos-kubevirt:stable");
    assert.match(kubevirt["digest-ref"] ?? "", /@sha256:/);
    const ami = findImage(fcos, { architecture: "x86_64", platform: "aws", region: "us-east-1" });
    assert.equal(ami.region, "us-east-1");
    assert.equal(ami.release, FCOS);
    assert.match(ami.image ?? "", /^ami-/);
    assertFails(() => findImage(fcos, { architecture: "x86_64", platform: "aws" }), "USAGE");
    assertFails(
      () => findImage(fcos, { architecture: "x86_64", platform: "aws", region: "mars-1" }),
      "NOT_FOUND",
      "/architectures/x86_64/images/aws/regions",
    );
    assertFails(() => findImage(fcos, { architecture: "x86_64", platform: "azure" }), "NOT_FOUND");
  });
});
