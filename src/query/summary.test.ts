import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseStream } from "../schema/parse.ts";
import { summarizeStream } from "./summary.ts";

const fcos = parseStream(
  readFileSync(new URL("../../test/fixtures/upstream/fcos-stable-stream.json", import.meta.url), "utf8"),
);
const FCOS = "44.20260707.3.1";

test("one artifact row per (architecture, platform, format), files in slot order", () => {
  const listing = summarizeStream(fcos);
  assert.equal(listing.stream, "stable");
  assert.equal(listing.lastModified, "2026-07-21T14:07:12Z");
  const keys = listing.artifacts.map((r) => `${r.architecture}/${r.platform}/${r.format}`);
  assert.equal(new Set(keys).size, keys.length);
  const pxe = listing.artifacts.find(
    (r) => r.architecture === "x86_64" && r.platform === "metal" && r.format === "pxe",
  );
  assert.deepEqual(pxe, {
    architecture: "x86_64",
    platform: "metal",
    format: "pxe",
    files: ["kernel", "initramfs", "rootfs"],
    release: FCOS,
  });
  assert.ok(listing.artifacts.every((r) => r.release === FCOS));
});

test("one image row per platform: regions counted, non-regional image named", () => {
  const listing = summarizeStream(fcos);
  const x86 = listing.images.filter((r) => r.architecture === "x86_64");
  const regions = Object.keys(fcos.architectures.x86_64?.images?.aws?.regions ?? {}).length;
  assert.deepEqual(x86, [
    { architecture: "x86_64", platform: "aws", regions, release: FCOS },
    {
      architecture: "x86_64",
      platform: "gcp",
      regions: 0,
      release: FCOS,
      image: "fedora-coreos-44-20260707-3-1-gcp-x86-64",
    },
    {
      architecture: "x86_64",
      platform: "kubevirt",
      regions: 0,
      release: FCOS,
      image: "quay.io/fedora/fedora-coreos-kubevirt:stable",
    },
  ]);
  assert.equal(listing.images.filter((r) => r.architecture === "ppc64le").length, 0);
});
