import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runBootstream } from "./helpers/cli.ts";
import { fixturePath } from "./helpers/fixtures.ts";

const FCOS = fixturePath("fcos-stable-stream.json");
const RHCOS = fixturePath("rhcos-installer-stream.json");
const BUILDS = "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1";

describe("bootstream query", () => {
  it("prints the ISO URL for x86_64 metal iso", async () => {
    const run = await runBootstream(["query", FCOS, "-a", "x86_64", "-p", "metal", "-f", "iso"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${BUILDS}/x86_64/fedora-coreos-44.20260707.3.1-live-iso.x86_64.iso\n`);
  });

  it("prints kernel, initramfs and rootfs for pxe, labelled with --json", async () => {
    const run = await runBootstream(["query", FCOS, "-a", "aarch64", "-p", "metal", "-f", "pxe"]);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      `${BUILDS}/aarch64/fedora-coreos-44.20260707.3.1-live-kernel.aarch64`,
      `${BUILDS}/aarch64/fedora-coreos-44.20260707.3.1-live-initramfs.aarch64.img`,
      `${BUILDS}/aarch64/fedora-coreos-44.20260707.3.1-live-rootfs.aarch64.img`,
    ]);
    const json = JSON.parse(
      (await runBootstream(["query", FCOS, "-a", "aarch64", "-p", "metal", "-f", "pxe", "--json"])).stdout,
    );
    assert.deepEqual(
      json.map((a: { kind: string }) => a.kind),
      ["kernel", "initramfs", "rootfs"],
    );
    assert.equal(
      json[0].signature,
      `${BUILDS}/aarch64/fedora-coreos-44.20260707.3.1-live-kernel.aarch64.sig`,
    );
    assert.equal(json[0].release, "44.20260707.3.1");
  });

  it("prints a chosen field: sha256, and -k picks one file of a format", async () => {
    const sha = await runBootstream([
      "query",
      FCOS,
      "-a",
      "x86_64",
      "-p",
      "qemu",
      "-f",
      "qcow2.xz",
      "--field",
      "sha256",
    ]);
    assert.match(sha.stdout, /^[0-9a-f]{64}\n$/);
    const kernel = await runBootstream([
      "query",
      FCOS,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "pxe",
      "-k",
      "kernel",
      "--field",
      "signature",
    ]);
    assert.equal(kernel.stdout, `${BUILDS}/x86_64/fedora-coreos-44.20260707.3.1-live-kernel.x86_64.sig\n`);
  });

  it("exits 1 naming what exists for a missing arch, platform or format", async () => {
    const arch = await runBootstream(["query", FCOS, "-a", "riscv64", "-p", "metal"]);
    assert.equal(arch.code, 1);
    assert.equal(
      arch.stderr,
      'bootstream: no architecture "riscv64" in stream stable; available: aarch64, ppc64le, s390x, x86_64\n',
    );
    const platform = await runBootstream(["query", FCOS, "-a", "ppc64le", "-p", "aws"]);
    assert.equal(platform.code, 1);
    assert.equal(
      platform.stderr,
      'bootstream: no platform "aws" for ppc64le; available: metal, openstack, powervs, qemu\n',
    );
    const format = await runBootstream(["query", FCOS, "-a", "x86_64", "-p", "metal", "-f", "qcow2"]);
    assert.equal(
      format.stderr,
      'bootstream: no format "qcow2" for x86_64 metal; available: 4k.raw.xz, iso, pxe, raw.xz\n',
    );
    const json = await runBootstream(["query", FCOS, "-a", "x86_64", "-p", "nope", "--json"]);
    assert.equal(JSON.parse(json.stdout).error.code, "NOT_FOUND");
  });

  it("exits 1 when the field asked for is absent (RHCOS installer streams carry no signatures)", async () => {
    const run = await runBootstream([
      "query",
      RHCOS,
      "-a",
      "x86_64",
      "-p",
      "metal",
      "-f",
      "iso",
      "--field",
      "signature",
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /x86_64 metal iso disk has no signature/);
  });

  it("refuses a release.json in place of a stream by name", async () => {
    const run = await runBootstream(["query", fixturePath("smg-fcos-release.json"), "-a", "x86_64"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /expected a stream\.json document, found release\.json/);
  });

  it("rejects an unknown --kind value as a usage error", async () => {
    const run = await runBootstream(["query", FCOS, "-a", "x86_64", "-k", "initrd"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Allowed choices are disk, kernel, initramfs, rootfs/);
  });
});

describe("bootstream image", () => {
  it("prints the AMI id for a region", async () => {
    const run = await runBootstream(["image", FCOS, "-a", "x86_64", "-p", "aws", "--region", "us-east-1"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "ami-01695f9dc8000aeb8\n");
  });

  it("prints a region table without --region", async () => {
    const run = await runBootstream(["image", RHCOS, "-a", "x86_64", "-p", "aliyun"]);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0] as string, /^REGION\s+IMAGE\s+RELEASE$/);
    assert.match(lines[1] as string, /^ap-northeast-1\s+m-6web6kk4swzbuzl6yo6q\s+416\.94\.202405291527-0$/);
  });

  it("prints project, family and name for gcp, and one of them with --field", async () => {
    const run = await runBootstream(["image", FCOS, "-a", "x86_64", "-p", "gcp"]);
    assert.equal(
      run.stdout,
      "release: 44.20260707.3.1\nproject: fedora-coreos-cloud\nfamily: fedora-coreos-stable\nname: fedora-coreos-44-20260707-3-1-gcp-x86-64\n",
    );
    const name = await runBootstream(["image", FCOS, "-a", "x86_64", "-p", "gcp", "--field", "name"]);
    assert.equal(name.stdout, "fedora-coreos-44-20260707-3-1-gcp-x86-64\n");
  });

  it("prints the kubevirt image and its digest-ref", async () => {
    const run = await runBootstream(["image", FCOS, "-a", "s390x", "-p", "kubevirt", "--json"]);
    const image = JSON.parse(run.stdout)[0];
    assert.equal(image.image, "quay.io/fedora/fedora-coreos-kubevirt:stable");
    assert.match(image["digest-ref"], /^quay\.io\/fedora\/fedora-coreos-kubevirt@sha256:[0-9a-f]{64}$/);
  });

  it("reads RHCOS extensions: azure-disk URL", async () => {
    const run = await runBootstream(["image", RHCOS, "-a", "aarch64", "-p", "azure-disk"]);
    assert.equal(
      run.stdout,
      "https://rhcos.blob.core.windows.net/imagebucket/rhcos-416.94.202405291527-0-azure.aarch64.vhd\n",
    );
  });

  it("exits 1 with the regions that exist for a missing region, and the platforms for a missing platform", async () => {
    const region = await runBootstream(["image", FCOS, "-a", "x86_64", "-p", "aws", "--region", "mars-1"]);
    assert.equal(region.code, 1);
    assert.match(
      region.stderr,
      /no region "mars-1" for x86_64 aws; available: af-south-1, ap-east-1, .*us-west-2\n$/,
    );
    const none = await runBootstream(["image", RHCOS, "-a", "s390x", "-p", "aws"]);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'bootstream: no image platform "aws" for s390x; available: none\n');
  });
});

describe("bootstream list", () => {
  it("prints a table of arch, platform, format, files and release", async () => {
    const run = await runBootstream(["list", RHCOS]);
    assert.equal(run.code, 0);
    const lines = run.stdout.split("\n");
    assert.equal(lines[0], "stream rhcos-4.16, last modified 2024-05-31T14:21:46Z");
    assert.match(lines[2] as string, /^ARCH\s+PLATFORM\s+FORMAT\s+FILES\s+RELEASE$/);
    assert.ok(
      lines.some((l) => /^x86_64\s+metal\s+pxe\s+kernel,initramfs,rootfs\s+416\.94\.202405291527-0$/.test(l)),
    );
    assert.ok(lines.some((l) => /^x86_64\s+aws\s+\d+\s+416\.94\.202405291527-0/.test(l)));
  });

  it("gives the same as JSON", async () => {
    const listing = JSON.parse((await runBootstream(["list", "--json", FCOS])).stdout);
    assert.equal(listing.stream, "stable");
    const iso = listing.artifacts.find(
      (a: { architecture: string; format: string }) => a.architecture === "x86_64" && a.format === "iso",
    );
    assert.deepEqual(iso, {
      architecture: "x86_64",
      platform: "metal",
      format: "iso",
      files: ["disk"],
      release: "44.20260707.3.1",
    });
    assert.ok(
      listing.images.some(
        (i: { platform: string; regions: number }) => i.platform === "aws" && i.regions > 20,
      ),
    );
  });
});

describe("help", () => {
  for (const command of [
    "validate",
    "fmt",
    "query",
    "image",
    "list",
    "diff",
    "lint",
    "generate",
    "generate release",
    "generate stream",
    "generate index",
  ]) {
    it(`${command} --help shows examples and exits 0`, async () => {
      const run = await runBootstream([...command.split(" "), "--help"]);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /Examples:\n {2}bootstream /);
    });
  }

  it("an unknown command is a usage error (exit 2)", async () => {
    const run = await runBootstream(["frobnicate"]);
    assert.equal(run.code, 2);
  });
});
