import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseStream } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { architectureReleases, newestReleases, releasesByArchitecture } from "./releases.ts";

const fcos = parseStream(
  readFileSync(new URL("../../test/fixtures/upstream/fcos-stable-stream.json", import.meta.url), "utf8"),
);
const FCOS = "44.20260707.3.1";

/** The fixture with x86_64's qemu held back to an older release and ppc64le without artifacts. */
function mixed(): Stream {
  const s = structuredClone(fcos);
  const x86 = s.architectures.x86_64;
  assert.ok(x86?.artifacts.qemu);
  x86.artifacts.qemu.release = "44.20260623.3.0";
  x86.artifacts.metal = {
    ...(x86.artifacts.metal as NonNullable<typeof x86.artifacts.metal>),
    release: "44.20260707.3.10",
  };
  const ppc = s.architectures.ppc64le;
  assert.ok(ppc);
  ppc.artifacts = {};
  return s;
}

test("one release per architecture in the upstream stream", () => {
  assert.deepEqual(releasesByArchitecture(fcos), {
    aarch64: [FCOS],
    ppc64le: [FCOS],
    s390x: [FCOS],
    x86_64: [FCOS],
  });
  assert.deepEqual(newestReleases(fcos), { aarch64: FCOS, ppc64le: FCOS, s390x: FCOS, x86_64: FCOS });
});

test("mixed releases are distinct and oldest first (numerically); an empty architecture has none", () => {
  const s = mixed();
  assert.deepEqual(architectureReleases(s, "x86_64"), ["44.20260623.3.0", FCOS, "44.20260707.3.10"]);
  assert.deepEqual(architectureReleases(s, "ppc64le"), []);
  const newest = newestReleases(s);
  assert.equal(newest.x86_64, "44.20260707.3.10");
  assert.equal(Object.hasOwn(newest, "ppc64le"), false);
});

test("an architecture the stream lacks (or an inherited name) has no releases", () => {
  assert.deepEqual(architectureReleases(fcos, "riscv64"), []);
  assert.deepEqual(architectureReleases(fcos, "constructor"), []);
});
