/**
 * bin/bootstream.js runs the built bundle; tsx (a development dependency) only runs the sources
 * when it is installed and they are newer than the bundle. Each case lays out a package in a
 * temporary directory: bin/, package.json, src/ and a node_modules/ of links to this checkout's
 * modules, with or without tsx, like `npm ci` and `npm ci --omit=dev` leave them.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "./helpers/fixtures.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ESBUILD = join(ROOT, "node_modules", ".bin", "esbuild");

type Bundle = "real" | "marker" | "none";

/** A package laid out as an install leaves it; the bundle is older than the sources. */
function install(options: { tsx: boolean; bundle: Bundle }): string {
  const dir = tempDir("bootstream-install-");
  cpSync(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "src"), join(dir, "src"));
  mkdirSync(join(dir, "node_modules"));
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "tsx" && !options.tsx) continue;
    if (name.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", name), join(dir, "node_modules", name));
  }
  const bundle = join(dir, "dist", "cli", "bin.js");
  if (options.bundle === "real") {
    execFileSync(
      ESBUILD,
      [
        "src/bin.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--packages=external",
        "--splitting",
        `--outdir=${join(dir, "dist", "cli")}`,
        "--target=node20",
        "--log-level=warning",
      ],
      { cwd: dir },
    );
  } else if (options.bundle === "marker") {
    mkdirSync(join(dir, "dist", "cli"), { recursive: true });
    writeFileSync(bundle, 'process.stdout.write("the bundle\\n");\n');
  }
  if (options.bundle !== "none") {
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(bundle, old, old);
  }
  return dir;
}

function run(dir: string, args: string[]) {
  return spawnSync(process.execPath, [join(dir, "bin", "bootstream.js"), ...args], {
    encoding: "utf8",
    cwd: dir,
    env: { ...process.env, NODE_PATH: "" },
  });
}

describe("bin/bootstream.js", () => {
  it("without tsx (npm ci --omit=dev) runs the built bundle, even when the sources are newer", () => {
    const result = run(install({ tsx: false, bundle: "real" }), ["--help"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: bootstream \[options\] \[command\]/);
  });

  it("without tsx it runs the bundle it has, not the sources", () => {
    const result = run(install({ tsx: false, bundle: "marker" }), ["--help"]);
    assert.equal(result.stdout, "the bundle\n", result.stderr);
  });

  it("with tsx and newer sources (a checkout while developing) it runs the sources", () => {
    const result = run(install({ tsx: true, bundle: "marker" }), ["--help"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: bootstream/);
  });

  it("with neither a bundle nor tsx it says how to build, exit 2", () => {
    const result = run(install({ tsx: false, bundle: "none" }), ["--help"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no built command in .*dist\/cli\/bin\.js: run `npm run build`/);
  });

  it("tsx is a development dependency", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies.tsx, undefined);
    assert.ok(pkg.devDependencies.tsx);
  });
});
