/**
 * The same option means the same thing in every command: `-a, --arch` (and `--architecture`)
 * in query, image, download and mirror; a bare SOURCE name that is a directory (`test/` in a
 * checkout) is a stream name, and `download -s NAME` is always a stream name.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runBootstream, spawnBootstream } from "./helpers/cli.ts";
import { fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";

const STREAM = fixturePath("fcos-stable-stream.json");
const SPELLINGS = [
  ["-a", "aarch64"],
  ["--arch", "aarch64"],
  ["--architecture", "aarch64"],
  ["--architecture=aarch64"],
];

describe("-a, --arch, --architecture", () => {
  for (const spelling of SPELLINGS) {
    it(`query ${spelling.join(" ")}`, async () => {
      const run = await runBootstream(["query", STREAM, ...spelling, "-p", "metal", "-f", "iso"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /live-iso\.aarch64\.iso\n$|live\.aarch64\.iso\n$/);
    });

    it(`image ${spelling.join(" ")}`, async () => {
      const run = await runBootstream(["image", STREAM, ...spelling, "-p", "aws", "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const x86 = await runBootstream(["image", STREAM, "-a", "x86_64", "-p", "aws", "--json"]);
      assert.notEqual(run.stdout, x86.stdout);
      const arch = await runBootstream(["image", STREAM, "--arch", "aarch64", "-p", "aws", "--json"]);
      assert.equal(run.stdout, arch.stdout);
    });

    it(`download ${spelling.join(" ")}`, async () => {
      // A platform the stream lacks: the message names the architecture the option chose.
      const run = await runBootstream([
        "download",
        "-s",
        STREAM,
        ...spelling,
        "-p",
        "nosuch",
        "--insecure",
        "-C",
        tempDir(),
      ]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /aarch64/);
      assert.doesNotMatch(run.stderr, /x86_64"/);
    });
  }

  it("mirror takes several, in any spelling, comma separated or repeated", async () => {
    const to = tempDir("bootstream-mirror-arch-");
    const run = await runBootstream([
      "mirror",
      STREAM,
      "--to",
      to,
      "--base-url",
      "http://mirror.invalid/",
      "--metadata-only",
      "--architecture",
      "aarch64",
      "-a",
      "s390x,ppc64le",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const written = JSON.parse(readFileSync(join(to, "streams", "stable.json"), "utf8")) as {
      architectures: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(written.architectures).sort(), ["aarch64", "ppc64le", "s390x"]);
  });

  it("help shows -a, --arch and names --architecture", async () => {
    for (const command of ["query", "image", "download", "mirror"]) {
      const run = await runBootstream([command, "--help"]);
      assert.match(run.stdout, /-a, --arch <arch>\s+.*(\n\s+.*)?also --architecture/, command);
    }
  });
});

describe("bare names that are directories, and download -s NAME", () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  before(async () => {
    const body = fixtureText("fcos-stable-stream.json");
    server = createServer((req, res) => {
      asked.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/streams/`;
  });
  after(() => server.close());

  function workdir(): string {
    const dir = tempDir("bootstream-names-");
    writeFileSync(join(dir, "mystream"), fixtureText("fcos-stable-stream-2020.json"));
    return dir;
  }

  it("a directory named like the stream (test/) falls back to the stream name", async () => {
    asked.length = 0;
    const dir = workdir();
    mkdirSync(join(dir, "test"));
    const run = await spawnBootstream(
      ["query", "test", "-a", "x86_64", "-p", "metal", "-f", "iso", "--stream-base-url", base],
      { cwd: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(asked, ["/streams/test.json"]);
  });

  it("download -s test in a folder with a test/ directory fetches the stream test", async () => {
    asked.length = 0;
    const dir = workdir();
    mkdirSync(join(dir, "test"));
    const run = await spawnBootstream(
      ["download", "-s", "test", "-a", "x86_64", "-p", "nosuch", "--insecure", "--stream-base-url", base],
      { cwd: dir },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /directory/);
    assert.deepEqual(asked, ["/streams/test.json"]);
  });

  it("a regular file of the name wins for a SOURCE, but download -s NAME is always the stream", async () => {
    asked.length = 0;
    const dir = workdir();
    const query = await spawnBootstream(
      ["query", "mystream", "-a", "x86_64", "-p", "metal", "-f", "iso", "--stream-base-url", base],
      { cwd: dir },
    );
    assert.equal(query.code, 0, query.stderr);
    assert.match(query.stdout, /31\.20200108\.3\.0/, "the local 2020 file");
    assert.deepEqual(asked, []);
    const download = await spawnBootstream(
      ["download", "-s", "mystream", "-a", "x86_64", "-p", "nosuch", "--insecure", "--stream-base-url", base],
      { cwd: dir },
    );
    assert.equal(download.code, 1, download.stderr);
    assert.deepEqual(asked, ["/streams/mystream.json"]);
    const file = await spawnBootstream(
      [
        "download",
        "-s",
        "./mystream",
        "-a",
        "x86_64",
        "-p",
        "nosuch",
        "--insecure",
        "--stream-base-url",
        base,
      ],
      { cwd: dir },
    );
    assert.equal(file.code, 1, file.stderr);
    assert.deepEqual(asked, ["/streams/mystream.json"], "a path is a file");
  });
});
