#!/usr/bin/env node
// Runs every test file with node's test runner. Node 20's --test takes no globs, so the
// explicit file list is built here: src/**/*.test.ts (unit) and test/**/*.test.ts.
//
// Tests use real services. Unless the environment already points at them (AWS_ENDPOINT_URL),
// this starts them once before the runner (scripts/s3-up.sh installs Ceph from Debian if
// needed, as root; scripts/registry-up.sh the OCI registry) and stops what it started
// afterwards; Chromium and skopeo are installed if missing.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "fixtures" && entry.name !== "node_modules") out.push(...find(path));
    } else if (entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

/** Runs an *-up.sh script and applies the `export K=V` lines it prints. */
function up(script, dir) {
  const result = spawnSync("bash", [join("scripts", script), dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (result.status !== 0) {
    console.error(`${script} failed (exit ${result.status}); the tests that need it will fail`);
    return false;
  }
  for (const line of result.stdout.split("\n")) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  return true;
}

const started = [];
if (!process.env.AWS_ENDPOINT_URL) {
  const dir = process.env.BOOTSTREAM_S3_DIR ?? "/tmp/bootstream-test-s3";
  if (up("s3-up.sh", dir)) started.push(["s3-down.sh", dir]);
}

// Debian's Chromium and skopeo for the page and OCI tests (no-op when installed).
spawnSync("bash", [join("scripts", "tools-up.sh")], { stdio: "inherit" });

if (!process.env.REGISTRY_URL) {
  const dir = process.env.BOOTSTREAM_REGISTRY_DIR ?? "/tmp/bootstream-test-registry";
  if (up("registry-up.sh", dir)) started.push(["registry-down.sh", dir]);
}

const files = [...find("src"), ...find("test")].sort();
const extra = process.argv.slice(2);
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...extra, ...files],
  {
    stdio: "inherit",
  },
);

for (const [script, dir] of started) spawnSync("bash", [join("scripts", script), dir], { stdio: "inherit" });
process.exit(result.status ?? 1);
