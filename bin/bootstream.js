#!/usr/bin/env node
// The command-line entry. It runs the bundle `npm run build` makes (dist/cli, built on
// `npm ci` by the prepare script): it starts in a third of the time and memory of
// compiling TypeScript on the fly. When the sources are newer than the bundle (while
// developing) it runs them directly through tsx instead, so it never runs stale code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = `${root}dist/cli/bin.js`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const fresh =
  existsSync(bundle) &&
  statSync(bundle).mtimeMs >= Math.max(newestSource(`${root}src`), statSync(`${root}package.json`).mtimeMs);

if (fresh) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/bin.ts");
}
