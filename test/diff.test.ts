import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { applyDiff, diffJson } from "../src/diff/index.ts";
import { runBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir, writeJson } from "./helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const dir = tempDir();
const STABLE = fixturePath("fcos-stable-stream.json");

const write = (name: string, value: unknown) => writeJson(dir, name, value);

describe("bootstream diff", () => {
  it("exits 0 with no output for identical documents", async () => {
    const run = await runBootstream(["diff", STABLE, STABLE]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
  });

  it("summarises a release bump per architecture for review", async () => {
    const run = await runBootstream(["diff", fixturePath("fcos-stable-stream-2020.json"), STABLE]);
    assert.equal(run.code, 1);
    const lines = run.stdout.trimEnd().split("\n");
    assert.ok(lines.includes("/metadata/last-modified: 2020-01-10T17:38:35Z -> 2026-07-21T14:07:12Z"));
    assert.ok(lines.includes("aarch64: added (44.20260707.3.1)"));
    assert.ok(lines.includes("x86_64: 31.20200108.3.0 -> 44.20260707.3.1"));
    const added = lines.find((l) => l.startsWith("  added: "));
    assert.match(added ?? "", /platform applehv/);
    assert.match(added ?? "", /format metal\/4k\.raw\.xz/);
    assert.match(added ?? "", /file metal\/pxe\/rootfs/);
    assert.match(
      lines.find((l) => l.startsWith("  changed: ")) ?? "",
      /^ {2}changed: \d+ URLs, \d+ digests, \d+ images$/,
    );
    assert.ok(run.stdout.length < 4000, "summarised, not dumped");
  });

  it("names removed regions and platforms", async () => {
    const next = fixtureJson<Json>("fcos-stable-stream.json");
    delete next.architectures.x86_64.images.aws.regions["ap-east-1"];
    delete next.architectures.x86_64.artifacts.vultr;
    next.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256 = "0".repeat(64);
    const run = await runBootstream(["diff", STABLE, write("removed.json", next)]);
    assert.equal(
      run.stdout,
      "x86_64: same release\n  removed: platform vultr, aws region ap-east-1\n  changed: 1 digest\n",
    );
  });

  it("gives the changes as {op, path, old, new} with JSON pointers in --json", async () => {
    const next = fixtureJson<Json>("fcos-stable-stream.json");
    next.architectures.x86_64.images.aws.regions["us-east-1"].image = "ami-new";
    next.architectures.x86_64.images.aws.regions["mars-1"] = {
      release: "44.20260707.3.1",
      image: "ami-mars",
    };
    const run = await runBootstream(["diff", "--json", STABLE, write("json.json", next)]);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), [
      {
        op: "add",
        path: "/architectures/x86_64/images/aws/regions/mars-1",
        new: { release: "44.20260707.3.1", image: "ami-mars" },
      },
      {
        op: "replace",
        path: "/architectures/x86_64/images/aws/regions/us-east-1/image",
        old: "ami-01695f9dc8000aeb8",
        new: "ami-new",
      },
    ]);
  });

  it("compares two releases too, and refuses documents of different kinds", async () => {
    // A new build: the version and every artifact URL that names it.
    const rel = JSON.parse(
      fixtureText("smg-fcos-release.json").replaceAll("33.20201201.3.0", "33.20201214.3.1"),
    ) as Json;
    const run = await runBootstream(["diff", fixturePath("smg-fcos-release.json"), write("rel.json", rel)]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^release: 33\.20201201\.3\.0 -> 33\.20201214\.3\.1$/m);
    assert.match(run.stdout, /^x86_64: same release\n {2}changed: \d+ URLs$/m);
    const mixed = await runBootstream(["diff", STABLE, fixturePath("smg-fcos-release.json")]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /cannot compare stream\.json with release\.json/);
  });
});

describe("diff properties", () => {
  const json = fc.jsonValue({ maxDepth: 4 });

  it("applying diff(a, b) to a gives b, for any JSON values", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        assert.deepEqual(applyDiff(a, diffJson(a, b)), b);
      }),
      { numRuns: 500 },
    );
  });

  it("applying diff(a, b) to a gives b for mutated real streams, and diff(a, a) is empty", () => {
    const base = fixtureJson<Json>("rhcos-installer-stream.json");
    const paths: string[][] = [];
    const collect = (v: unknown, path: string[]) => {
      if (typeof v === "object" && v !== null && !Array.isArray(v)) {
        for (const [k, child] of Object.entries(v)) {
          paths.push([...path, k]);
          collect(child, [...path, k]);
        }
      }
    };
    collect(base, []);
    const mutation = fc.record({
      path: fc.constantFrom(...paths),
      op: fc.constantFrom("delete", "set", "add"),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 8 }), (mutations) => {
        const next: Json = structuredClone(base);
        for (const m of mutations) {
          let node: Json | undefined = next;
          for (const k of m.path.slice(0, -1))
            node = node && typeof node[k] === "object" && node[k] !== null ? node[k] : undefined;
          if (!node) continue;
          const last = m.path.at(-1) as string;
          if (m.op === "delete") delete node[last];
          else if (m.op === "set") node[last] = m.value;
          else node[`${last}-new`] = m.value;
        }
        assert.deepEqual(applyDiff(base, diffJson(base, next)), next);
        assert.deepEqual(diffJson(next, next), []);
      }),
      { numRuns: 200 },
    );
  });
});
