#!/usr/bin/env node
// npm's prepare step (`npm ci`, `npm install` in a checkout, `npm pack`): builds dist/ with the
// development tools (esbuild, tsc). A production install (`npm ci --omit=dev`) has none of
// them: it keeps the dist/ that is there and says so, instead of failing the install; the
// command (bin/bootstream.js) then runs that bundle.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

function installed(name) {
  try {
    import.meta.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

if (installed("esbuild") && installed("typescript")) {
  const build = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
  process.exit(build.status ?? 1);
}
const built = existsSync(new URL("../dist/cli/bin.js", import.meta.url));
process.stderr.write(
  built
    ? "prepare: no development dependencies; keeping the existing build in dist/\n"
    : "prepare: no development dependencies and no build in dist/: bin/bootstream.js cannot run until `npm run build`\n",
);
