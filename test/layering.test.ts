import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
/** Pure core: no I/O, no imports of the I/O layers (architecture.md "Layout"). */
const CORE = [
  "schema",
  "canonical",
  "query",
  "generate",
  "diff",
  "lint",
  "kube",
  "trust",
  "render",
  "convert",
  "errors.ts",
  "index.ts",
  "version.ts",
];
const IO_LAYERS = [
  "audit",
  "source",
  "storage",
  "publish",
  "serve",
  "download",
  "mirror",
  "oci",
  "cli",
  "bin.ts",
];
const IO_BUILTINS =
  /^node:(fs|fs\/promises|http|https|http2|net|tls|dgram|child_process|worker_threads|cluster|readline|process)$/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? files(join(dir, e.name))
      : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
        ? [join(dir, e.name)]
        : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1] as string);
}

describe("layering", () => {
  const core = files(SRC).filter((f) =>
    CORE.some((c) => relative(SRC, f) === c || relative(SRC, f).startsWith(`${c}/`)),
  );

  it("finds the core modules", () => {
    assert.ok(core.length >= 10);
  });

  for (const file of core) {
    it(`core module ${relative(SRC, file)} does no I/O and imports no I/O layer`, () => {
      for (const spec of imports(file)) {
        assert.doesNotMatch(spec, IO_BUILTINS, `${spec} is I/O`);
        if (spec.startsWith(".")) {
          const target = relative(SRC, join(file, "..", spec));
          assert.ok(
            !IO_LAYERS.some((l) => target === l || target.startsWith(`${l}/`)),
            `${spec} is an I/O layer`,
          );
        }
      }
      assert.doesNotMatch(readFileSync(file, "utf8"), /\bprocess\.(argv|exit|env|stdout|stderr|stdin)\b/);
    });
  }

  it("only bin.ts touches process (argv, exit, stdio)", () => {
    for (const file of files(SRC)) {
      if (relative(SRC, file) === "bin.ts") continue;
      assert.doesNotMatch(
        readFileSync(file, "utf8"),
        /\bprocess\.(argv|exit|exitCode|stdout|stderr|stdin|env)\b/,
        relative(SRC, file),
      );
    }
  });
});
