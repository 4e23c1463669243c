/**
 * Kind detection: the formats bootstream reads, and the neighbouring formats it names instead
 * of misreading (real files: test/fixtures/upstream/SOURCES.md). And a build meta.json is
 * canonical in coreos-assembler's own layout, which has no final newline.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BootstreamError } from "../src/errors.ts";
import { detectForeignFormat, detectKind, KINDS, resolveKind } from "../src/schema/documents.ts";
import { toCanonicalJSON } from "../src/schema/parse.ts";
import { runBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText } from "./helpers/fixtures.ts";

const FOREIGN = [
  ["fcos-updates-2019.json", "updates-2019", /the 2019 update-hints format of fedora-coreos-streams/],
  ["installer-marketplace-rhcos.json", "installer-marketplace", /the installer's marketplace file/],
  [
    "installer-rhcos-pre-4.8.json",
    "installer-pre-4.8",
    /the pre-4\.8 installer format .*not a stream nor a build meta\.json; `bootstream convert legacy` converts it/,
  ],
] as const;

describe("kind detection", () => {
  for (const [file, format, message] of FOREIGN) {
    it(`${file} is named as ${format}, not taken for a kind`, async () => {
      const value = fixtureJson(file);
      assert.equal(detectForeignFormat(value), format);
      assert.equal(detectKind(value), undefined);
      assert.throws(
        () => resolveKind(value),
        (e: unknown) => e instanceof BootstreamError && e.code === "UNKNOWN_KIND" && message.test(e.message),
      );
      const run = await runBootstream(["validate", fixturePath(file), "--json"]);
      assert.equal(run.code, 1);
      const [report] = JSON.parse(run.stdout) as { issues: { pointer: string; message: string }[] }[];
      assert.equal(report?.issues.length, 1, "one issue naming the format, not field errors");
      assert.match(report?.issues[0]?.message ?? "", message);
    });
  }

  it("the marketplace content of a real stream is the same shape as the installer's file", () => {
    const stream = fixtureJson<{
      architectures: Record<string, { "rhel-coreos-extensions"?: { marketplace?: unknown } }>;
    }>("rhcos-installer-stream.json");
    const perArch = Object.fromEntries(
      Object.entries(stream.architectures).flatMap(([arch, a]) =>
        a["rhel-coreos-extensions"]?.marketplace ? [[arch, a["rhel-coreos-extensions"].marketplace]] : [],
      ),
    );
    if (Object.keys(perArch).length > 0) assert.equal(detectForeignFormat(perArch), "installer-marketplace");
  });

  it("the kinds bootstream reads are still detected", () => {
    for (const [file, kind] of [
      ["fcos-stable-stream.json", "stream"],
      ["fcos-stable-stream-2020.json", "stream"],
      ["fcos-stable-updates.json", "updates"],
      ["smg-fcos-release.json", "release"],
      ["smg-fcos-releases.json", "release-index"],
      ["cosa-meta-fcos.json", "build-meta"],
      ["cosa-meta-rhcos.json", "build-meta"],
    ] as const) {
      const value = fixtureJson(file);
      assert.equal(detectForeignFormat(value), undefined, file);
      assert.equal(detectKind(value), kind, file);
    }
  });
});

describe("build meta.json in coreos-assembler's layout", () => {
  it("its kind is written without a final newline (Python json.dump(indent=4))", () => {
    assert.equal(KINDS["build-meta"].finalNewline, false);
    for (const kind of ["stream", "release", "release-index", "updates"] as const)
      assert.equal(KINDS[kind].finalNewline, true, kind);
  });

  it("a real cosa meta.json is canonical as cosa wrote it", async () => {
    const text = fixtureText("cosa-meta-fcos.json");
    assert.equal(text.endsWith("\n"), false, "cosa writes no final newline");
    assert.equal(toCanonicalJSON(JSON.parse(text)), text);
    const run = await runBootstream(["fmt", "--check", fixturePath("cosa-meta-fcos.json")]);
    assert.equal(run.code, 0, run.stderr);
  });

  it("fmt --check names a final newline a meta.json should not have", async () => {
    const run = await runBootstream(["fmt", "--check", fixturePath("cosa-meta-rhcos.json")]);
    assert.equal(run.code, 1);
  });
});
