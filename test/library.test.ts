import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as api from "../src/index.ts";
import { tempDir } from "./helpers/fixtures.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  exports: unknown;
};
/** tsx's loader by absolute URL, so a consumer outside the repository can run TypeScript. */
const TSX = import.meta.resolve("tsx");

/**
 * Builds the library from these sources into a temporary package and returns a consumer directory
 * whose node_modules/bootstream is that package: nothing is written inside the repository.
 * The package has the project's "exports" and the build is `build:lib` with --outdir moved;
 * its node_modules is the project's, so the external dependencies resolve as in an install.
 */
function buildPackage(): { root: string; consumer: string } {
  const root = tempDir("bootstream-library-");
  const pkg = join(root, "bootstream");
  mkdirSync(pkg);
  const buildLib = PACKAGE.scripts["build:lib"] ?? "";
  assert.ok(buildLib.startsWith("esbuild "), "package.json build:lib runs esbuild");
  const args = buildLib
    .split(" ")
    .slice(1)
    .map((arg) => (arg.startsWith("--outdir=") ? `--outdir=${join(pkg, "dist/lib")}` : arg));
  execFileSync(join(ROOT, "node_modules/.bin/esbuild"), args, { cwd: ROOT, stdio: "inherit" });
  execFileSync(
    join(ROOT, "node_modules/.bin/tsc"),
    ["-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(pkg, "dist/types")],
    { cwd: ROOT, stdio: "inherit" },
  );
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "bootstream", type: "module", exports: PACKAGE.exports }),
  );
  symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"), "dir");
  const consumer = join(root, "consumer");
  mkdirSync(join(consumer, "node_modules"), { recursive: true });
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", type: "module", private: true }),
  );
  symlinkSync(pkg, join(consumer, "node_modules/bootstream"), "dir");
  // The README examples read examples/*.json relative to where they run.
  symlinkSync(join(ROOT, "examples"), join(consumer, "examples"), "dir");
  // The consumer's type checks see Node's declarations as an installed project would.
  symlinkSync(join(ROOT, "node_modules/@types"), join(consumer, "node_modules/@types"), "dir");
  return { root, consumer };
}

describe("library API", () => {
  let root = "";
  let consumer = "";
  // `import "bootstream"` resolves to a library built from these sources, in a temporary package.
  before(() => {
    ({ root, consumer } = buildPackage());
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
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
    // In a consumer package, so `import "bootstream"` resolves through node_modules and "exports".
    const file = join(consumer, "readme-example.ts");
    writeFileSync(file, block);
    const out = execFileSync(process.execPath, ["--import", TSX, file], { cwd: consumer, encoding: "utf8" });
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
    const file = join(consumer, "readme-installer-example.ts");
    writeFileSync(file, block.replace("data/coreos/rhcos.json", "examples/rhcos-4.16.json"));
    const out = execFileSync(process.execPath, ["--import", TSX, file], { cwd: consumer, encoding: "utf8" });
    const stream = api.parseStream(readFileSync(join(ROOT, "examples/rhcos-4.16.json")));
    const ami = api.findImage(stream, { architecture: "x86_64", platform: "aws", region: "eu-west-1" }).image;
    assert.equal(
      out.trim(),
      `${ami} projects/rhcos-cloud/global/images/rhcos-416-94-202405291527-0-gcp-x86-64 ${api.findArtifacts(stream, { architecture: "aarch64", platform: "metal", format: "iso" })[0]?.artifact.location}`,
    );
  });

  it("runs the README docs-and-clusters library example on the bundled RHCOS stream", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /### From the library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, "README has the docs-and-clusters library example");
    const file = join(consumer, "readme-machinesets-example.ts");
    writeFileSync(file, block);
    mkdirSync(join(consumer, "examples"), { recursive: true });
    writeFileSync(
      join(consumer, "examples/rhcos-4.16.json"),
      readFileSync(join(ROOT, "examples/rhcos-4.16.json")),
    );
    writeFileSync(
      join(consumer, "machinesets.yaml"),
      readFileSync(join(ROOT, "test/fixtures/machinesets/aws-machinesets.yaml")),
    );
    const out = execFileSync(process.execPath, ["--import", TSX, file], { cwd: consumer, encoding: "utf8" });
    const stream = api.parseStream(readFileSync(join(ROOT, "examples/rhcos-4.16.json")));
    const first = api.listImages(stream, { architecture: "x86_64", platform: "aws" })[0];
    assert.ok(first);
    assert.equal(
      out.split("\n").slice(0, 5).join("\n"),
      [
        "**x86_64 RHCOS AMIs**",
        "",
        "| AWS zone | AWS AMI |",
        "| --- | --- |",
        `| \`${first.region}\` | \`${first.image}\` |`,
      ].join("\n"),
    );
    assert.match(out, /worker-us-east-1a current ami-/);
    assert.match(out, /worker-us-east-1b stale ami-/);
    const updated = readFileSync(join(consumer, "machinesets-updated.yaml"), "utf8");
    const original = readFileSync(join(ROOT, "test/fixtures/machinesets/aws-machinesets.yaml"), "utf8");
    assert.notEqual(updated, original);
    assert.equal(updated.split("\n").length, original.split("\n").length, "only image values change");
  });

  it("type-checks a strict TypeScript consumer against the published declarations", () => {
    // The temporary package's dist/types and dist/lib are all a consumer sees.
    const dir = consumer;
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
    execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", dir], { cwd: dir, encoding: "utf8" });
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
