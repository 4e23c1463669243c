/** Paths and contents of the upstream fixtures (see test/fixtures/upstream/SOURCES.md). */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = fileURLToPath(new URL("../fixtures/upstream/", import.meta.url));

export function fixturePath(name: string): string {
  return join(FIXTURES, name);
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

export function fixtureJson<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

export function tempDir(prefix = "bootstream-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `value` as 4-space JSON with a final newline (the layout of FCOS streams) and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(value, null, 4)}\n`);
  return path;
}
