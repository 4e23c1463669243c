import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as api from "../src/index.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

describe("library API", () => {
  // `import "bootstream"` resolves to the built library: make sure it is built from these sources.
  before(() => {
    execFileSync("npm", ["run", "--silent", "build:lib"], { cwd: ROOT, stdio: "inherit" });
  });

  it("exports the documented functions", () => {
    for (const name of [
      "parseStream",
      "parseRelease",
      "parseDocument",
      "toCanonicalJSON",
      "findArtifacts",
      "findImage",
      "parseDuration",
    ]) {
      assert.equal(typeof (api as Record<string, unknown>)[name], "function", name);
    }
  });

  it("runs the README example against the package name, as a user would import it", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "README has a ts example under ## Library");
    assert.match(block, /from "bootstream"/);
    // Inside the package root, so `import "bootstream"` resolves through package.json "exports".
    const dir = join(ROOT, "test-output");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "readme-example.ts");
    writeFileSync(file, block);
    const out = execFileSync(process.execPath, ["--import", "tsx", file], { cwd: ROOT, encoding: "utf8" });
    const [iso] = api.findArtifacts(api.parseStream(readFileSync(join(ROOT, "examples/fcos-stable.json"))), {
      architecture: "x86_64",
      platform: "metal",
      format: "iso",
    });
    assert.deepEqual(out.trimEnd().split("\n"), [
      `https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-live-iso.x86_64.iso ${iso?.artifact.sha256}`,
      "ami-01695f9dc8000aeb8",
      "true",
    ]);
  });

  it("runs the README installer-pinning example on the bundled RHCOS stream", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /### Pinning boot images in an installer[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "README has the installer example");
    const dir = join(ROOT, "test-output");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "readme-installer-example.ts");
    writeFileSync(file, block.replace("data/coreos/rhcos.json", "examples/rhcos-4.16.json"));
    const out = execFileSync(process.execPath, ["--import", "tsx", file], { cwd: ROOT, encoding: "utf8" });
    const stream = api.parseStream(readFileSync(join(ROOT, "examples/rhcos-4.16.json")));
    const ami = api.findImage(stream, { architecture: "x86_64", platform: "aws", region: "eu-west-1" }).image;
    assert.equal(
      out.trim(),
      `${ami} projects/rhcos-cloud/global/images/rhcos-416-94-202405291527-0-gcp-x86-64 ${api.findArtifacts(stream, { architecture: "aarch64", platform: "metal", format: "iso" })[0]?.artifact.location}`,
    );
  });

  it("type-checks a strict TypeScript consumer against the published declarations", () => {
    // dist/types is built by `npm ci` (npm run build:types); a consumer sees only that and dist/lib.
    const dir = join(ROOT, "test-output", "consumer");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          types: ["node"],
          typeRoots: ["../../node_modules/@types"],
        },
        files: ["consumer.ts"],
      }),
    );
    writeFileSync(
      join(dir, "consumer.ts"),
      `import { type CloudImage, findImage, parseStream, type Stream } from "bootstream";
const stream: Stream = parseStream("{}");
const ami: CloudImage = findImage(stream, { architecture: "x86_64", platform: "aws", region: "us-east-1" });
const id: string | undefined = ami.image;
// @ts-expect-error: a region is a string
findImage(stream, { architecture: "x86_64", platform: "aws", region: 1 });
console.log(id);
`,
    );
    execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", dir], { cwd: ROOT, encoding: "utf8" });
  });

  it("throws BootstreamError with a code and pointer for invalid input", () => {
    assert.throws(
      () => api.parseStream('{"stream": "s", "metadata": {"last-modified": "now"}, "architectures": {}}'),
      (error: unknown) => {
        assert.ok(api.isBootstreamError(error));
        assert.equal(error.code, "INVALID_DOCUMENT");
        assert.equal(error.path, "/metadata/last-modified");
        assert.equal(error.exitCode, 1);
        assert.equal(error.httpStatus, 422);
        return true;
      },
    );
  });

  it("parseDocument detects each kind and rejects what it cannot tell", () => {
    assert.equal(
      api.parseDocument(readFileSync(join(ROOT, "test/fixtures/upstream/smg-fcos-releases.json"))).kind,
      "release-index",
    );
    assert.throws(() => api.parseDocument('{"apiVersion": "v1"}'), { code: "UNKNOWN_KIND" });
    assert.throws(() => api.parseDocument("[]"), { code: "INVALID_DOCUMENT" });
  });
});
