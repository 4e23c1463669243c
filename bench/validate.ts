/**
 * Figure: `bootstream validate` and `bootstream fmt --check` over 600+ streams of ~60 KB in
 * one process each (target: well under 5 s). Reference measured in the same run: reading
 * and `JSON.parse`-ing the same files in one Node process, the floor any validator has.
 *
 *   npm run bench:validate [-- --copies 640]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const copiesArg = process.argv.indexOf("--copies");
const COPIES = copiesArg > 0 ? Number(process.argv[copiesArg + 1]) : 640;
const SOURCES = [
  "fcos-stable-stream.json",
  "rhcos-installer-stream.json",
  "fcos-stable-stream-2020.json",
  "rhcos-4.8-stream.json",
];

const dir = mkdtempSync(join(tmpdir(), "bootstream-bench-"));
const files: string[] = [];
let bytes = 0;
for (let i = 0; i < COPIES; i++) {
  const name = SOURCES[i % SOURCES.length] as string;
  // Vary the content a little so no cache can help: a different last-modified per copy.
  const day = String((i % 28) + 1).padStart(2, "0");
  let text = readFileSync(join(ROOT, "test/fixtures/upstream", name), "utf8");
  text = text.replace(/"last-modified": "[^"]+"/, `"last-modified": "2021-02-${day}T10:00:00Z"`);
  if (!text.endsWith("\n")) text += "\n";
  const file = join(dir, `stream-${i}.json`);
  writeFileSync(file, text);
  files.push(file);
  bytes += Buffer.byteLength(text);
}

function time(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const bin = join(ROOT, "bin/bootstream.js");
const reference = time(() => {
  execFileSync(process.execPath, [
    "-e",
    "const fs=require('fs');for(const f of process.argv.slice(1))JSON.parse(fs.readFileSync(f,'utf8'))",
    ...files,
  ]);
});
const validate = time(() =>
  execFileSync(process.execPath, [bin, "validate", ...files], { stdio: ["ignore", "ignore", "ignore"] }),
);
const fmtCheck = time(() =>
  execFileSync(process.execPath, [bin, "fmt", "--check", ...files], {
    stdio: ["ignore", "ignore", "ignore"],
  }),
);
rmSync(dir, { recursive: true, force: true });

const mb = bytes / 1e6;
const line = (label: string, s: number) =>
  `${label.padEnd(34)} ${s.toFixed(2).padStart(6)} s  ${(COPIES / s).toFixed(0).padStart(6)} files/s  ${(mb / s).toFixed(1).padStart(6)} MB/s`;
console.log(`${COPIES} streams, ${mb.toFixed(1)} MB in all (one process per command, start-up included)`);
console.log(line("reference: node JSON.parse", reference));
console.log(line("bootstream validate", validate));
console.log(line("bootstream fmt --check", fmtCheck));
console.log(
  `ratio validate / reference: ${(validate / reference).toFixed(2)}x the time; fmt --check: ${(fmtCheck / reference).toFixed(2)}x`,
);
console.log(`target: each under 5 s -> ${validate < 5 && fmtCheck < 5 ? "met" : "NOT met"}`);
