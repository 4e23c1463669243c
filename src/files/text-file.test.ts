/** Unit tests of reading a text file without following links and replacing it only if unchanged. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeUtf8Text } from "../canonical/parse.ts";
import { BootstreamError } from "../errors.ts";
import { readTextFileNoFollow, replaceTextFileIfUnchanged } from "./text-file.ts";

const dir = mkdtempSync(join(tmpdir(), "bootstream-text-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `f${n++}.adoc`);
  writeFileSync(path, content);
  return path;
}

const options = { maxBytes: 1024, what: "docs file" };
const failsWith = (code: string) => (e: unknown) => e instanceof BootstreamError && e.code === code;

describe("readTextFileNoFollow", () => {
  it("reads UTF-8 text, a byte-order mark and CRLF kept, and says whether there is a mark", async () => {
    const plain = await readTextFileNoFollow(file("a\r\nb é\n"), options);
    assert.equal(plain.text, "a\r\nb é\n");
    assert.equal(plain.bom, false);
    const marked = await readTextFileNoFollow(file("\uFEFF.x86_64 AMIs\n"), options);
    assert.equal(marked.text, "\uFEFF.x86_64 AMIs\n");
    assert.equal(marked.bom, true);
    assert.equal((await readTextFileNoFollow(file(""), options)).text, "");
  });

  it("refuses a symlink, a directory, a FIFO and a missing file (IO), a file over the cap (TOO_LARGE)", async () => {
    const real = file("text\n");
    const link = join(dir, "link.adoc");
    symlinkSync(real, link);
    await assert.rejects(readTextFileNoFollow(link, options), failsWith("IO"));
    const sub = join(dir, "sub");
    mkdirSync(sub);
    await assert.rejects(readTextFileNoFollow(sub, options), failsWith("IO"));
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(readTextFileNoFollow(fifo, options), failsWith("IO"));
    await assert.rejects(readTextFileNoFollow(join(dir, "absent"), options), failsWith("IO"));
    const big = file("");
    truncateSync(big, 1025);
    await assert.rejects(readTextFileNoFollow(big, options), (e: unknown) => {
      assert.ok(e instanceof BootstreamError && e.code === "TOO_LARGE");
      assert.match(e.message, /is 1 KiB, more than the 1 KiB a docs file may have/);
      return true;
    });
    assert.equal((await readTextFileNoFollow(file("x".repeat(1024)), options)).text.length, 1024);
  });

  it("invalid UTF-8 is INVALID_DOCUMENT naming the line", async () => {
    const bytes = Buffer.concat([
      Buffer.from("one\ntwo\n"),
      Buffer.from([0x74, 0xff, 0x0a]),
      Buffer.from("four\n"),
    ]);
    const path = file(bytes);
    await assert.rejects(readTextFileNoFollow(path, options), (e: unknown) => {
      assert.ok(e instanceof BootstreamError && e.code === "INVALID_DOCUMENT");
      assert.equal(e.message, `${path}:3: expected UTF-8 text`);
      return true;
    });
    // A sequence cut by the end of the input is the last line's fault.
    assert.throws(() => decodeUtf8Text(Buffer.from([0x61, 0x0a, 0xe2, 0x82]), "x"), /^.*x:2: expected UTF-8/);
  });
});

describe("replaceTextFileIfUnchanged", () => {
  it("replaces the file read, keeping its mode, leaving no temporary file", async () => {
    const sub = join(dir, "replace");
    mkdirSync(sub);
    const path = join(sub, "doc.adoc");
    writeFileSync(path, "old\n", { mode: 0o640 });
    await replaceTextFileIfUnchanged(await readTextFileNoFollow(path, options), "new\n");
    assert.equal(readFileSync(path, "utf8"), "new\n");
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(sub), ["doc.adoc"]);
  });

  it("a file renamed over, or swapped for a symlink, since it was read -> CONFLICT, nothing written", async () => {
    const sub = join(dir, "conflict");
    mkdirSync(sub);
    const path = join(sub, "doc.adoc");
    writeFileSync(path, "old\n");
    const renamed = await readTextFileNoFollow(path, options);
    writeFileSync(join(sub, "theirs"), "their edit\n");
    renameSync(join(sub, "theirs"), path);
    await assert.rejects(replaceTextFileIfUnchanged(renamed, "ours\n"), failsWith("CONFLICT"));
    assert.equal(readFileSync(path, "utf8"), "their edit\n");

    const victim = join(sub, "victim");
    writeFileSync(victim, "precious\n");
    const swapped = await readTextFileNoFollow(path, options);
    rmSync(path);
    symlinkSync(victim, path);
    await assert.rejects(replaceTextFileIfUnchanged(swapped, "ours\n"), failsWith("CONFLICT"));
    assert.equal(readFileSync(victim, "utf8"), "precious\n");
    assert.deepEqual(readdirSync(sub).sort(), ["doc.adoc", "victim"]);
  });

  it("a file with two hard links is refused (USAGE), both names unchanged", async () => {
    const path = file("linked\n");
    linkSync(path, `${path}.2`);
    await assert.rejects(
      replaceTextFileIfUnchanged(await readTextFileNoFollow(path, options), "ours\n"),
      failsWith("USAGE"),
    );
    assert.equal(readFileSync(`${path}.2`, "utf8"), "linked\n");
  });
});
