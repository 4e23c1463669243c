import assert from "node:assert/strict";
import { test } from "node:test";
import { diffJson } from "./index.ts";
import { renderDiffSummary, summarizeDiff } from "./summary.ts";

const file = (v: string) => ({
  location: `https://example.com/${v}/disk.xz`,
  sha256: `sha-${v}`,
});

function stream(v: string, extra: Record<string, unknown> = {}) {
  return {
    stream: "stable",
    metadata: { "last-modified": "2024-01-01T00:00:00Z" },
    architectures: {
      x86_64: {
        artifacts: {
          metal: { release: v, formats: { "raw.xz": { disk: file(v) } } },
          qemu: { release: v, formats: { "qcow2.xz": { disk: file(v) } } },
        },
        images: { aws: { regions: { "us-east-1": { release: v, image: `ami-${v}` } } } },
      },
      ...extra,
    },
  };
}

test("a release bump counts URL, digest and image changes per architecture", () => {
  const summary = summarizeDiff(diffJson(stream("40.1"), stream("40.2")));
  assert.deepEqual(summary.document, []);
  assert.equal(summary.architectures.length, 1);
  const [x86] = summary.architectures;
  assert.deepEqual(x86, {
    architecture: "x86_64",
    status: "changed",
    versions: ["40.1 -> 40.2"],
    added: [],
    removed: [],
    changedUrls: 2,
    changedDigests: 2,
    changedImages: 2,
    other: [],
  });
  assert.equal(renderDiffSummary(summary), "x86_64: 40.1 -> 40.2\n  changed: 2 URLs, 2 digests, 2 images");
});

test("added and removed architectures, platforms, formats and regions are named", () => {
  const a = stream("40.1");
  const b = stream("40.1", {
    aarch64: { artifacts: { metal: { release: "40.1", formats: {} } } },
  });
  const x = b.architectures.x86_64;
  delete (x.artifacts as Record<string, unknown>).qemu;
  (x.artifacts.metal.formats as Record<string, unknown>).iso = { disk: file("40.1") };
  (x.images.aws.regions as Record<string, unknown>)["eu-west-1"] = { release: "40.1", image: "ami-2" };
  delete (x.images.aws.regions as Record<string, unknown>)["us-east-1"];
  const summary = summarizeDiff(diffJson(a, b));
  const byName = Object.fromEntries(summary.architectures.map((s) => [s.architecture, s]));
  assert.equal(byName.aarch64?.status, "added");
  assert.deepEqual(byName.aarch64?.versions, ["40.1"]);
  assert.deepEqual(byName.x86_64?.added, ["format metal/iso", "aws region eu-west-1"]);
  assert.deepEqual(byName.x86_64?.removed, ["platform qemu", "aws region us-east-1"]);
  const text = renderDiffSummary(summary);
  assert.match(text, /^aarch64: added \(40\.1\)$/m);
  assert.match(text, /^x86_64: same release$/m);
});

test("changes outside architectures go to the document list", () => {
  const a = stream("40.1");
  const b = { ...stream("40.1"), stream: "next", metadata: { "last-modified": "2024-02-01T00:00:00Z" } };
  const summary = summarizeDiff(diffJson(a, b));
  assert.deepEqual(summary.document, [
    "/metadata/last-modified: 2024-01-01T00:00:00Z -> 2024-02-01T00:00:00Z",
    "/stream: stable -> next",
  ]);
  assert.deepEqual(summary.architectures, []);
});

test("a release document's top-level release is shown as release: old -> new", () => {
  const summary = summarizeDiff([{ op: "replace", path: "/release", old: "1", new: "2" }]);
  assert.deepEqual(summary.document, ["release: 1 -> 2"]);
});

test("other changes are listed, at most ten, then counted", () => {
  const ops = Array.from({ length: 12 }, (_, i) => ({
    op: "replace" as const,
    path: `/architectures/x86_64/artifacts/metal/formats/raw/disk/size${i}`,
    old: i,
    new: i + 1,
  }));
  const summary = summarizeDiff(ops);
  assert.equal(summary.architectures[0]?.other.length, 12);
  const lines = renderDiffSummary(summary).split("\n");
  assert.equal(lines.length, 1 + 10 + 1);
  assert.equal(lines.at(-1), "  ... and 2 more changes");
});

test("architectures are sorted by name", () => {
  const summary = summarizeDiff([
    { op: "remove", path: "/architectures/x86_64", old: {} },
    { op: "add", path: "/architectures/aarch64", new: {} },
  ]);
  assert.deepEqual(
    summary.architectures.map((s) => `${s.architecture}:${s.status}`),
    ["aarch64:added", "x86_64:removed"],
  );
});
