import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BootstreamError } from "../errors.ts";
import { parseStream } from "../schema/parse.ts";
import { sourceFromUrl, sourcesFromStream } from "./resolve.ts";

const fcos = parseStream(
  readFileSync(new URL("../../test/fixtures/upstream/fcos-stable-stream.json", import.meta.url), "utf8"),
);

test("a PXE selection gives kernel, initramfs and rootfs with digests, signatures and pointers", () => {
  const sources = sourcesFromStream(fcos, { architecture: "x86_64", platform: "metal", format: "pxe" });
  assert.equal(sources.length, 3);
  const pxe = fcos.architectures.x86_64?.artifacts.metal?.formats.pxe;
  assert.ok(pxe?.kernel);
  assert.deepEqual(sources[0], {
    url: pxe.kernel.location,
    signatureUrl: pxe.kernel.signature,
    sha256: pxe.kernel.sha256,
    pointer: "/architectures/x86_64/artifacts/metal/formats/pxe/kernel/location",
  });
});

test("a compressed disk carries its uncompressed digest", () => {
  const [disk, ...rest] = sourcesFromStream(fcos, {
    architecture: "x86_64",
    platform: "metal",
    format: "raw.xz",
  });
  assert.equal(rest.length, 0);
  assert.match(disk?.uncompressedSha256 ?? "", /^[0-9a-f]{64}$/);
});

test("a selection the stream lacks is NOT_FOUND", () => {
  assert.throws(
    () => sourcesFromStream(fcos, { architecture: "x86_64", platform: "metal", format: "vhd" }),
    (e: unknown) => e instanceof BootstreamError && e.code === "NOT_FOUND",
  );
});

test("sourceFromUrl expects URL.sig beside the file, and refuses a URL that names no file", () => {
  assert.deepEqual(sourceFromUrl("https://h/a.iso"), {
    url: "https://h/a.iso",
    signatureUrl: "https://h/a.iso.sig",
  });
  assert.deepEqual(sourceFromUrl("https://h/a.iso", "ab"), {
    url: "https://h/a.iso",
    signatureUrl: "https://h/a.iso.sig",
    sha256: "ab",
  });
  for (const url of ["https://h/", "file:///a.iso", "https://h/%2e%2e"]) {
    assert.throws(
      () => sourceFromUrl(url),
      (e: unknown) => e instanceof BootstreamError && e.code === "USAGE" && e.path === url,
      url,
    );
  }
});
