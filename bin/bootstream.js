#!/usr/bin/env node
// The command-line entry. It runs the bundle `npm run build` makes (dist/cli, built on
// `npm ci` by the prepare script, and shipped in the package): it starts in a third of the
// time and memory of compiling TypeScript on the fly. tsx is a development dependency: only
// when it is installed and the sources are newer than the bundle (while developing) does this
// run the sources through it instead, so a checkout never runs stale code and an installed
// package never needs tsx.
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

function tsxInstalled() {
  try {
    import.meta.resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}

const built = existsSync(bundle);
const stale =
  !built ||
  (existsSync(`${root}src`) &&
    statSync(bundle).mtimeMs < Math.max(newestSource(`${root}src`), statSync(`${root}package.json`).mtimeMs));

if (stale && tsxInstalled()) {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/bin.ts");
} else if (built) {
  await import(bundle);
} else {
  process.stderr.write(
    `bootstream: no built command in ${bundle}: run \`npm run build\` (it needs the development dependencies)\n`,
  );
  process.exitCode = 2;
}
