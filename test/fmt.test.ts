import assert from "node:assert/strict";
import { chmodSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runBootstream, spawnBootstream } from "./helpers/cli.ts";
import { fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";

function copy(name: string, dir = tempDir()): string {
  const path = join(dir, name);
  copyFileSync(fixturePath(name), path);
  chmodSync(path, 0o640);
  return path;
}

describe("bootstream fmt", () => {
  it("rewrites a non-canonical file in place, atomically, keeping its mode and indent", async () => {
    const dir = tempDir();
    const file = copy("smg-fcos-stream.json", dir);
    const run = await runBootstream(["fmt", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, `formatted ${file}\n`);
    const out = readFileSync(file, "utf8");
    assert.ok(out.startsWith('{\n    "stream": "stable"'), "keeps 4-space indent");
    assert.ok(out.indexOf('"kubevirt"') < out.indexOf('"openstack"'));
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir), ["smg-fcos-stream.json"], "no temporary file left behind");
    assert.equal((await runBootstream(["fmt", "--check", file])).code, 0);
  });

  it("leaves canonical files untouched (same bytes, same inode)", async () => {
    const file = copy("fcos-stable-stream.json");
    const before = statSync(file);
    const run = await runBootstream(["fmt", file]);
    assert.equal(run.code, 0);
    assert.equal(run.stderr, "");
    assert.equal(statSync(file).ino, before.ino);
    assert.equal(readFileSync(file, "utf8"), fixtureText("fcos-stable-stream.json"));
  });

  it("keeps a 2-space file at 2 spaces, and --indent changes it", async () => {
    const file = copy("smg-fcos-release.json");
    await runBootstream(["fmt", file]);
    assert.ok(
      readFileSync(file, "utf8").startsWith('{\n  "release": "33.20201201.3.0",\n  "stream": "stable",'),
    );
    await runBootstream(["fmt", "--indent", "4", file]);
    assert.ok(readFileSync(file, "utf8").startsWith('{\n    "release"'));
    const bad = await runBootstream(["fmt", "--indent", "x", file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /expected a whole number from 0 to 16/);
  });

  it("writes to -o OUT and to stdout for - without touching the input", async () => {
    const dir = tempDir();
    const input = copy("rhcos-4.8-stream.json", dir);
    const out = join(dir, "out.json");
    assert.equal((await runBootstream(["fmt", "-o", out, input])).code, 0);
    assert.equal(readFileSync(out, "utf8"), `${fixtureText("rhcos-4.8-stream.json")}\n`);
    assert.equal(readFileSync(input, "utf8"), fixtureText("rhcos-4.8-stream.json"));
    const piped = await spawnBootstream(["fmt", "-"], { stdin: fixtureText("rhcos-4.8-stream.json") });
    assert.equal(piped.code, 0);
    assert.equal(piped.stdout, `${fixtureText("rhcos-4.8-stream.json")}\n`);
    const toStdout = await runBootstream(["fmt", "-o", "-", input]);
    assert.equal(toStdout.stdout, `${fixtureText("rhcos-4.8-stream.json")}\n`);
  });

  it("--check exits 1 and names every file that is not canonical, changing nothing", async () => {
    const dir = tempDir();
    const files = [
      "fcos-stable-stream.json",
      "rhcos-4.8-stream.json",
      "smg-fcos-stream.json",
      "fcos-stable-updates.json",
    ].map((n) => copy(n, dir));
    const run = await runBootstream(["fmt", "--check", ...files]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [files[1], files[2]]);
    assert.equal(run.stderr, "2 of 4 files not canonical\n");
    assert.equal(readFileSync(files[1] as string, "utf8"), fixtureText("rhcos-4.8-stream.json"));
    const json = await runBootstream(["fmt", "--check", "--json", ...files]);
    const results = JSON.parse(json.stdout);
    assert.equal(results[1].reason, "missing final newline");
    assert.match(results[2].reason, /differs from canonical form at line \d+/);
  });

  it("refuses input that is not JSON, leaving the file as it was", async () => {
    const dir = tempDir();
    const file = join(dir, "bad.json");
    writeFileSync(file, '{"stream": ');
    const run = await runBootstream(["fmt", file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /bad\.json: expected a JSON value, found the end of the document/);
    assert.equal(readFileSync(file, "utf8"), '{"stream": ');
  });

  it("keeps Python float text in updates files", async () => {
    const file = copy("fcos-stable-updates.json");
    const run = await runBootstream(["fmt", "--indent", "4", file]);
    assert.equal(run.code, 0);
    const text = readFileSync(file, "utf8");
    assert.match(text, /"start_percentage": 1\.0/);
    assert.match(text, /"start_percentage": 0\.0|"start_percentage": 1\.0/);
  });
});
