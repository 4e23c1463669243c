#!/usr/bin/env node
// Runs every test file with node's test runner. Node 20's --test takes no globs, so the
// explicit file list is built here: src/**/*.test.ts (unit) and test/**/*.test.ts.
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

const files = [...find("src"), ...find("test")].sort();
const extra = process.argv.slice(2);
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...extra, ...files],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
