/**
 * `bootstream render`: tables of the real upstream streams in every format, the AWS AMI
 * layout of OpenShift's docs module byte for byte, and `--check` / `--update` of docs files
 * built in that layout (and of the real module), including hostile streams and doc files.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { listArtifacts, listImages } from "../src/query/index.ts";
import { checkDocTables, findDocTables, type TablesJson, updateDocTables } from "../src/render/index.ts";
import { parseStream } from "../src/schema/parse.ts";
import { runBootstream, spawnBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, tempDir, writeJson } from "./helpers/fixtures.ts";
import { testKey } from "./helpers/keys.ts";

const RHCOS = fixturePath("rhcos-installer-stream.json");
const FCOS = fixturePath("fcos-stable-stream.json");
const DOCS = fileURLToPath(new URL("./fixtures/docs/", import.meta.url));
const MODULE = join(DOCS, "openshift-docs-rhcos-ami.adoc");

interface RegionImages {
  regions: Record<string, { release: string; image: string }>;
}
interface StreamJson {
  stream: string;
  architectures: Record<
    string,
    {
      images: { aws?: RegionImages; gcp?: { name: string }; [k: string]: unknown };
      "rhel-coreos-extensions"?: Record<string, unknown>;
    }
  >;
}

const rhcosJson = () => fixtureJson<StreamJson>("rhcos-installer-stream.json") as unknown as StreamJson;
const awsOf = (s: StreamJson, arch: string) => s.architectures[arch]?.images.aws as RegionImages;

async function render(args: string[]): Promise<string> {
  const run = await runBootstream(["render", ...args]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

async function renderJson(source: string, ...args: string[]): Promise<TablesJson> {
  return JSON.parse(await render([source, "--format", "json", ...args])) as TablesJson;
}

/** The AMI pairs of one architecture's table in the OpenShift module. */
function moduleAmis(text: string, arch: string): Record<string, string> {
  const start = text.indexOf(`.${arch} {op-system} AMIs`);
  const body = text.slice(start, text.indexOf("|===\n", text.indexOf("|===\n", start) + 5));
  const out: Record<string, string> = {};
  for (const m of body.matchAll(/^\|`([^`]+)`\n\|`([^`]+)`$/gm)) out[m[1] as string] = m[2] as string;
  return out;
}

describe("render: AsciiDoc in the layout of OpenShift's AWS UPI docs module", () => {
  it("writes the module's own AMIs byte for byte as the module has them", async () => {
    const module = readFileSync(MODULE, "utf8");
    const stream = rhcosJson();
    for (const arch of ["x86_64", "aarch64"]) {
      const amis = moduleAmis(module, arch);
      assert.ok(Object.keys(amis).length > 30, arch);
      awsOf(stream, arch).regions = Object.fromEntries(
        Object.entries(amis).map(([region, image]) => [region, { release: "416.94.202405291527-0", image }]),
      );
    }
    const source = writeJson(tempDir(), "module-amis.json", stream);
    const out = await render([source, "--what", "amis", "-a", "x86_64,aarch64"]);
    const tables = module.slice(
      module.indexOf("ifndef::openshift-origin[]\n") + "ifndef::openshift-origin[]\n".length,
      module.indexOf("endif::openshift-origin[]"),
    );
    assert.equal(out, tables);
  });

  it("renders rhcos-4.16's AMIs as the golden file", async () => {
    const out = await render([RHCOS, "--what", "amis", "-a", "x86_64,aarch64"]);
    assert.equal(out, readFileSync(join(DOCS, "rhcos-4.16-amis.adoc"), "utf8"));
  });

  it("orders architectures as -a gives them, else sorted; an unknown one is NOT_FOUND", async () => {
    const sorted = await renderJson(RHCOS, "--what", "amis");
    assert.deepEqual(
      sorted.tables.map((t) => t.architecture),
      ["aarch64", "x86_64"],
    );
    const given = await renderJson(RHCOS, "--what", "amis", "-a", "x86_64", "--architecture", "aarch64");
    assert.deepEqual(
      given.tables.map((t) => t.architecture),
      ["x86_64", "aarch64"],
    );
    const run = await runBootstream(["render", RHCOS, "-a", "riscv64", "--json"]);
    assert.equal(run.code, 1);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, "NOT_FOUND");
  });
});

describe("render: every format carries the stream's content", () => {
  it("JSON: every table of rhcos-4.16, rows equal to the query API's images and artifacts", async () => {
    const json = await renderJson(RHCOS);
    assert.equal(json.stream, "rhcos-4.16");
    assert.deepEqual(
      json.tables.map((t) => `${t.architecture} ${t.table}`),
      [
        "aarch64 amis",
        "x86_64 amis",
        "x86_64 aliyun",
        "aarch64 azure",
        "x86_64 azure",
        "aarch64 gcp",
        "x86_64 gcp",
        "x86_64 kubevirt",
        "ppc64le powervs",
        "aarch64 artifacts",
        "ppc64le artifacts",
        "s390x artifacts",
        "x86_64 artifacts",
      ],
    );
    const stream = parseStream(readFileSync(RHCOS));
    const table = (arch: string, kind: string) =>
      json.tables.find((t) => t.architecture === arch && t.table === kind);
    for (const [arch, platform, kind] of [
      ["x86_64", "aws", "amis"],
      ["aarch64", "aws", "amis"],
      ["x86_64", "aliyun", "aliyun"],
    ] as const) {
      const want = listImages(stream, { architecture: arch, platform }).map((i) => [i.region, i.image]);
      assert.deepEqual(table(arch, kind)?.rows, want, `${arch} ${kind}`);
    }
    assert.deepEqual(
      table("ppc64le", "powervs")?.rows,
      listImages(stream, { architecture: "ppc64le", platform: "powervs" }).map((i) => [
        i.region,
        i.object,
        i.bucket,
        i.url,
      ]),
    );
    assert.deepEqual(table("x86_64", "gcp")?.rows, [
      ["project", "rhcos-cloud"],
      ["name", "rhcos-416-94-202405291527-0-gcp-x86-64"],
    ]);
    assert.deepEqual(
      table("x86_64", "kubevirt")?.rows.map((r) => r[0]),
      ["image", "digest-ref"],
    );
    assert.deepEqual(table("x86_64", "azure")?.rows, [
      [
        "azure-disk",
        "https://rhcos.blob.core.windows.net/imagebucket/rhcos-416.94.202405291527-0-azure.x86_64.vhd",
      ],
    ]);
    const artifacts = json.tables.filter((t) => t.table === "artifacts").flatMap((t) => t.rows);
    assert.deepEqual(
      artifacts.map((r) => r[2]),
      listArtifacts(stream).map((a) => a.artifact.location),
    );
    assert.ok(artifacts.some((r) => r[0] === "metal" && r[1] === "pxe rootfs"));
    assert.ok(
      artifacts.every((r) => r[4] === ""),
      "RHCOS artifacts are not signed",
    );
    assert.equal(table("x86_64", "amis")?.caption, "x86_64 CoreOS AMIs");
  });

  it("JSON: FCOS stable's artifacts carry their signatures, its GCP image its family", async () => {
    const json = await renderJson(FCOS, "-a", "aarch64", "--os-name", "Fedora CoreOS");
    const artifacts = json.tables.find((t) => t.table === "artifacts");
    const stream = parseStream(readFileSync(FCOS));
    const want = listArtifacts(stream).filter((a) => a.architecture === "aarch64");
    assert.deepEqual(
      artifacts?.rows.map((r) => [r[2], r[3], r[4]]),
      want.map((a) => [a.artifact.location, a.artifact.sha256, a.artifact.signature]),
    );
    assert.equal(artifacts?.caption, "aarch64 Fedora CoreOS artifacts");
    assert.deepEqual(json.tables.find((t) => t.table === "gcp")?.rows[1], [
      "family",
      "fedora-coreos-stable-arm64",
    ]);
  });

  it("Azure: the marketplace images the installer grafts in, as URNs, after the azure-disk VHD", async () => {
    const stream = rhcosJson();
    const marketplace = fixtureJson<Record<string, { azure: unknown }>>("installer-marketplace-rhcos.json");
    for (const arch of ["x86_64", "aarch64"]) {
      const ext = stream.architectures[arch]?.["rhel-coreos-extensions"] as Record<string, unknown>;
      ext.marketplace = { azure: marketplace[arch]?.azure };
    }
    const source = writeJson(tempDir(), "marketplace.json", stream);
    const json = await renderJson(source, "--what", "images", "-a", "x86_64");
    assert.deepEqual(json.tables.find((t) => t.table === "azure")?.rows.slice(1), [
      ["no-purchase-plan hyperVGen1", "azureopenshift:aro4:aro_417:417.94.20240701"],
      ["no-purchase-plan hyperVGen2", "azureopenshift:aro4:417-v2:417.94.20240701"],
    ]);
  });

  it("Markdown: a bold caption and a GFM table per architecture", async () => {
    const out = await render([
      RHCOS,
      "--format",
      "markdown",
      "--what",
      "amis",
      "-a",
      "x86_64",
      "--os-name",
      "RHCOS",
    ]);
    const lines = out.split("\n");
    const regions = Object.keys(awsOf(rhcosJson(), "x86_64").regions).sort();
    assert.deepEqual(lines.slice(0, 4), [
      "**x86_64 RHCOS AMIs**",
      "",
      "| AWS zone | AWS AMI |",
      "| --- | --- |",
    ]);
    assert.equal(
      lines[4],
      `| \`af-south-1\` | \`${awsOf(rhcosJson(), "x86_64").regions["af-south-1"]?.image}\` |`,
    );
    assert.equal(lines.length, 4 + regions.length + 1);
    assert.equal(lines.at(-1), "");
  });

  it("HTML: a fragment of one table per table, URLs as links", async () => {
    const json = await renderJson(RHCOS);
    const out = await render([RHCOS, "--format", "html"]);
    assert.equal(out.match(/<table /g)?.length, json.tables.length);
    assert.equal(
      out.match(/<tr><td>/g)?.length,
      json.tables.reduce((n, t) => n + t.rows.length, 0),
    );
    assert.match(out, /<caption>x86_64 CoreOS AMIs<\/caption>/);
    assert.match(out, /<a href="https:\/\/rhcos\.mirror\.openshift\.com\/[^"]+live\.x86_64\.iso"><code>/);
    assert.doesNotMatch(out, /<html|<body|<script/);
  });

  it("CSV: RFC 4180 records, one per value, under one header", async () => {
    const json = await renderJson(FCOS, "--what", "all");
    const out = await render([FCOS, "--format", "csv"]);
    const records = out.split("\r\n");
    assert.equal(records[0], "architecture,table,key,column,value");
    assert.equal(records.at(-1), "", "every record ends with CRLF");
    assert.doesNotMatch(out.replaceAll("\r\n", ""), /[\r\n]/);
    const values = json.tables.reduce((n, t) => n + t.rows.length * (t.columns.length - t.keyColumns), 0);
    assert.equal(records.length - 2, values);
    const ami = awsOf(fixtureJson("fcos-stable-stream.json") as unknown as StreamJson, "x86_64").regions[
      "us-east-1"
    ];
    assert.ok(records.includes(`x86_64,amis,us-east-1,AWS AMI,${ami?.image}`));
    assert.ok(records.includes(`x86_64,artifacts,metal pxe kernel,Signature,${signatureOfKernel()}`));
  });

  it("-o writes the tables atomically to a file", async () => {
    const out = join(tempDir(), "amis.adoc");
    const run = await runBootstream(["render", RHCOS, "--what", "amis", "-a", "x86_64,aarch64", "-o", out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(readFileSync(out, "utf8"), readFileSync(join(DOCS, "rhcos-4.16-amis.adoc"), "utf8"));
  });
});

function signatureOfKernel(): string {
  const stream = parseStream(readFileSync(FCOS));
  const kernel = listArtifacts(stream).find(
    (a) => a.architecture === "x86_64" && a.platform === "metal" && a.kind === "kernel",
  );
  return kernel?.artifact.signature ?? "";
}

/** A docs page built from rendered tables with prose before, between and after them. */
async function docsPage(source: string, eol = "\n"): Promise<{ text: string; pieces: string[] }> {
  const x86 = await render([source, "--what", "amis", "-a", "x86_64"]);
  const arm = await render([source, "--what", "amis", "-a", "aarch64"]);
  const gcp = await render([source, "--what", "images", "-a", "x86_64"]);
  const pieces = [
    "= RHCOS boot images\n\nUse the AMI of your region.\n\n",
    x86,
    "\nThe aarch64 images:\n\n",
    arm,
    "\n[NOTE]\n====\nOther clouds:\n====\n\n",
    gcp,
    "\nThat is all.\n",
  ];
  return { text: pieces.join("").replaceAll("\n", eol), pieces };
}

/** rhcos-4.16 with x86_64 us-east-1 changed, eu-west-1 gone and a region added: an "older" stream. */
function olderStream(): string {
  const stream = rhcosJson();
  const regions = awsOf(stream, "x86_64").regions;
  regions["us-east-1"] = { release: "415.92.202402130021-0", image: "ami-0aaaaaaaaaaaaaaa1" };
  delete regions["eu-west-1"];
  regions["zz-test-1"] = { release: "415.92.202402130021-0", image: "ami-0bbbbbbbbbbbbbbb2" };
  return writeJson(tempDir(), "older.json", stream);
}

interface CheckJson {
  doc: string;
  tables: string[];
  findings: {
    kind: string;
    caption: string;
    key?: string;
    line?: number;
    doc?: string[];
    stream?: string[];
  }[];
  rewritten?: string[];
}

describe("render --check and --update", () => {
  it("a page built from a stream matches that stream (exit 0)", async () => {
    const { text } = await docsPage(RHCOS);
    const doc = join(tempDir(), "amis.adoc");
    writeFileSync(doc, text);
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /6 tables match the stream/);
  });

  it("against an older stream: exit 1, each drifted row named with its line and both values", async () => {
    const { text } = await docsPage(RHCOS);
    const doc = join(tempDir(), "amis.adoc");
    writeFileSync(doc, text);
    const older = olderStream();
    const run = await spawnBootstream(["render", older, "--check", doc]);
    assert.equal(run.code, 1, run.stderr);
    const lines = text.split("\n");
    const lineOf = (needle: string) => lines.indexOf(needle) + 1;
    const current = awsOf(rhcosJson(), "x86_64").regions;
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      `${doc}:${lineOf("|`eu-west-1`")}: "x86_64 {op-system} AMIs": eu-west-1: in the doc ("${current["eu-west-1"]?.image}"), not in the stream`,
      `${doc}:${lineOf("|`us-east-1`")}: "x86_64 {op-system} AMIs": us-east-1: the doc has "${current["us-east-1"]?.image}", the stream "ami-0aaaaaaaaaaaaaaa1"`,
      `${doc}:${lines.indexOf("|===", lineOf(".x86_64 {op-system} AMIs") + 3) + 1}: "x86_64 {op-system} AMIs": zz-test-1: in the stream ("ami-0bbbbbbbbbbbbbbb2"), not in the doc`,
    ]);
    assert.match(run.stderr, /3 differences/);
    const json = await runBootstream(["render", older, "--check", doc, "--json"]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as CheckJson;
    assert.deepEqual(
      report.findings.map((f) => [f.kind, f.key]),
      [
        ["extra", "eu-west-1"],
        ["differs", "us-east-1"],
        ["missing", "zz-test-1"],
      ],
    );
    assert.deepEqual(report.tables, [
      "x86_64 {op-system} AMIs",
      "aarch64 {op-system} AMIs",
      "x86_64 {op-system} Alibaba Cloud images",
      "x86_64 {op-system} Azure images",
      "x86_64 {op-system} GCP image",
      "x86_64 {op-system} KubeVirt image",
    ]);
  });

  for (const [label, eol, finalNewline] of [
    ["LF", "\n", true],
    ["CRLF without a final newline", "\r\n", false],
  ] as const) {
    it(`--update (${label}) rewrites only the stale table, atomically; a re-check exits 0`, async () => {
      const { text, pieces } = await docsPage(RHCOS, eol);
      const trim = (s: string) => (finalNewline ? s : s.replace(/\r?\n$/, ""));
      const doc = join(tempDir(), "amis.adoc");
      writeFileSync(doc, trim(text), { mode: 0o640 });
      const older = olderStream();
      const run = await spawnBootstream(["render", older, "--update", doc]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /rewrote "x86_64 \{op-system\} AMIs"/);
      assert.doesNotMatch(run.stderr, /rewrote "aarch64/);
      const olderX86 = await render([older, "--what", "amis", "-a", "x86_64"]);
      const expected = [pieces[0], olderX86, ...pieces.slice(2)].join("").replaceAll("\n", eol);
      assert.equal(readFileSync(doc, "utf8"), trim(expected));
      assert.equal(statSync(doc).mode & 0o777, 0o640);
      const again = await runBootstream(["render", older, "--check", doc]);
      assert.equal(again.code, 0, again.stdout);
      const idle = await runBootstream(["render", older, "--update", doc]);
      assert.equal(idle.code, 0);
      assert.match(idle.stderr, /up to date/);
    });
  }

  it("the real OpenShift module: drift from rhcos-4.16 found, then only its two tables rewritten", async () => {
    const module = readFileSync(MODULE, "utf8");
    const doc = join(tempDir(), "installation-aws-user-infra-rhcos-ami.adoc");
    writeFileSync(doc, module);
    const check = await runBootstream(["render", RHCOS, "--check", doc, "--json"]);
    assert.equal(check.code, 1);
    const findings = (JSON.parse(check.stdout) as CheckJson).findings;
    // The module is newer than the 2024 stream: regions AWS opened since are extra in it.
    assert.ok(findings.some((f) => f.kind === "extra" && f.key === "ap-east-2"));
    assert.ok(findings.some((f) => f.kind === "differs" && f.key === "us-east-1"));
    const update = await runBootstream(["render", RHCOS, "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    const updated = readFileSync(doc, "utf8");
    const head = module.slice(0, module.indexOf(".x86_64 {op-system} AMIs"));
    assert.ok(updated.startsWith(head));
    assert.ok(updated.endsWith("|===\nendif::openshift-origin[]\n"));
    assert.equal(
      updated.slice(head.length, -"endif::openshift-origin[]\n".length),
      readFileSync(join(DOCS, "rhcos-4.16-amis.adoc"), "utf8"),
    );
    assert.equal((await runBootstream(["render", RHCOS, "--check", doc])).code, 0);
  });

  it("Markdown docs: found by their bold captions, checked and updated the same way", async () => {
    const x86 = await render([RHCOS, "--format", "markdown", "--what", "amis", "-a", "x86_64"]);
    const doc = join(tempDir(), "amis.md");
    const text = `# Boot images\n\n${x86}\nMore prose.\n`;
    writeFileSync(doc, text);
    assert.equal((await runBootstream(["render", RHCOS, "--check", doc])).code, 0);
    const older = olderStream();
    const check = await runBootstream(["render", older, "--check", doc, "--json"]);
    assert.equal(check.code, 1);
    assert.equal((JSON.parse(check.stdout) as CheckJson).findings.length, 3);
    assert.equal((await runBootstream(["render", older, "--update", doc])).code, 0);
    const olderX86 = await render([older, "--format", "markdown", "--what", "amis", "-a", "x86_64"]);
    assert.equal(readFileSync(doc, "utf8"), `# Boot images\n\n${olderX86}\nMore prose.\n`);
  });

  it("tables the stream has and the doc lacks are findings only when -a or --what asks for them", async () => {
    const doc = join(tempDir(), "x86.adoc");
    writeFileSync(doc, await render([RHCOS, "--what", "amis", "-a", "x86_64"]));
    assert.equal((await runBootstream(["render", RHCOS, "--check", doc])).code, 0);
    const asked = await runBootstream(["render", RHCOS, "--check", doc, "--what", "amis"]);
    assert.equal(asked.code, 1);
    assert.match(asked.stdout, /"aarch64 \{op-system\} AMIs": in the stream \(\d+ rows\), not in the doc/);
    const before = readFileSync(doc, "utf8");
    const update = await runBootstream([
      "render",
      RHCOS,
      "--update",
      doc,
      "-a",
      "x86_64,aarch64",
      "--what",
      "amis",
    ]);
    assert.equal(update.code, 1, "a table to add by hand");
    assert.equal(readFileSync(doc, "utf8"), before);
  });

  it("a doc table for an architecture or platform the stream lacks is extra", async () => {
    const doc = join(tempDir(), "s390x.adoc");
    const x86 = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    writeFileSync(doc, x86.replace(".x86_64 ", ".s390x "));
    const run = await runBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /:1: "s390x \{op-system\} AMIs": the stream has no such table for s390x/);
  });

  it("--check with --update, or --check of an HTML file, is a usage error", async () => {
    const doc = join(tempDir(), "a.adoc");
    writeFileSync(doc, "prose\n");
    assert.equal((await spawnBootstream(["render", RHCOS, "--check", doc, "--update", doc])).code, 2);
    assert.equal((await spawnBootstream(["render", RHCOS, "--check", doc, "--format", "html"])).code, 2);
  });

  it("--stream-key applies: an unsigned stream is refused (exit 4) before the doc is touched", async () => {
    const dir = tempDir();
    const key = join(dir, "key.asc");
    writeFileSync(key, (await testKey("render test")).publicKey.armor());
    const doc = join(dir, "amis.adoc");
    writeFileSync(doc, "prose\n");
    const run = await spawnBootstream([
      "render",
      RHCOS,
      "--update",
      doc,
      "--stream-key",
      key,
      "--state-dir",
      dir,
    ]);
    assert.equal(run.code, 4, run.stderr);
    assert.equal(readFileSync(doc, "utf8"), "prose\n");
  });

  it("--help has examples", async () => {
    const run = await runBootstream(["render", "--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Examples:\n {2}bootstream render /);
  });
});

describe("render --update keeps what the doc writes its own way", () => {
  it("a Markdown table indented under a list item stays indented, so the list is not broken", async () => {
    const older = olderStream();
    const indent = (table: string) =>
      table
        .trimEnd()
        .split("\n")
        .map((l) => (l === "" ? l : `   ${l}`))
        .join("\n");
    const table = await render([RHCOS, "--format", "markdown", "--what", "amis", "-a", "x86_64"]);
    const doc = join(tempDir(), "list.md");
    writeFileSync(doc, `1. Pick your region:\n\n${indent(table)}\n\n2. Launch the instance.\n`);
    const update = await runBootstream(["render", older, "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    const want = await render([older, "--format", "markdown", "--what", "amis", "-a", "x86_64"]);
    assert.equal(
      readFileSync(doc, "utf8"),
      `1. Pick your region:\n\n${indent(want)}\n\n2. Launch the instance.\n`,
    );
  });

  it("an AsciiDoc table's indented rows stay indented", async () => {
    const older = olderStream();
    const indentRows = (table: string) => table.replace(/^\|(?!===)/gm, "  |");
    const doc = join(tempDir(), "indented.adoc");
    writeFileSync(doc, indentRows(await render([RHCOS, "--what", "amis", "-a", "x86_64"])));
    assert.equal((await runBootstream(["render", older, "--update", doc])).code, 0);
    assert.equal(
      readFileSync(doc, "utf8"),
      indentRows(await render([older, "--what", "amis", "-a", "x86_64"])),
    );
  });

  it("the doc's own header cells stay as written: AsciiDoc |Region |AMI, a Markdown header with alignment", async () => {
    const older = olderStream();
    const rows = (
      JSON.parse(await render([older, "--format", "json", "--what", "amis", "-a", "x86_64"])) as TablesJson
    ).tables[0]?.rows as string[][];
    // One line per row, the header implicit (no cols): the layout the review found rewritten.
    const oneLine = join(tempDir(), "one-line.adoc");
    writeFileSync(oneLine, ".x86_64 {op-system} AMIs\n|===\n|Region |AMI\n\n|`us-east-1` |`ami-1`\n|===\n");
    assert.equal((await runBootstream(["render", older, "--update", oneLine])).code, 0);
    const body = rows.map(([region, ami]) => `|\`${region}\` |\`${ami}\``).join("\n");
    assert.equal(
      readFileSync(oneLine, "utf8"),
      `.x86_64 {op-system} AMIs\n|===\n|Region |AMI\n\n${body}\n|===\n`,
    );
    // The module's layout with other header cells, one per line.
    const module = join(tempDir(), "module.adoc");
    const renamed = (t: string) => t.replace("|AWS zone\n|AWS AMI\n", "|Region\n|AMI ID\n");
    writeFileSync(module, renamed(await render([RHCOS, "--what", "amis", "-a", "x86_64"])));
    assert.equal((await runBootstream(["render", older, "--update", module])).code, 0);
    assert.equal(
      readFileSync(module, "utf8"),
      renamed(await render([older, "--what", "amis", "-a", "x86_64"])),
    );
    // Markdown: the header row and the delimiter row with its alignment.
    const md = join(tempDir(), "aligned.md");
    const aligned = (t: string) =>
      t.replace("| AWS zone | AWS AMI |\n| --- | --- |", "| Region | AMI |\n|:-------|-----:|");
    writeFileSync(
      md,
      aligned(await render([RHCOS, "--format", "markdown", "--what", "amis", "-a", "x86_64"])),
    );
    assert.equal((await runBootstream(["render", older, "--update", md])).code, 0);
    assert.equal(
      readFileSync(md, "utf8"),
      aligned(await render([older, "--format", "markdown", "--what", "amis", "-a", "x86_64"])),
    );
  });
});

describe("render --check: what a check takes for a table, and what it requires", () => {
  it("a lower-case block title of prose (.available AMIs) stays prose: the architecture word has a digit", async () => {
    const table = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    const doc = join(tempDir(), "prose.adoc");
    writeFileSync(doc, `.available AMIs\nThe AMIs of each region follow.\n\n${table}`);
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 0, run.stderr);
    const md = join(tempDir(), "prose.md");
    writeFileSync(md, "**available AMIs**\n\nSee the table.\n\n");
    const none = await spawnBootstream(["render", RHCOS, "--check", md, "--json"]);
    assert.equal((JSON.parse(none.stdout) as { error: { code: string } }).error.code, "NOT_FOUND");
  });

  it("-a alone narrows the architectures: the golden AMI file passes with -a x86_64; a missing table only of a kind the doc has", async () => {
    const golden = join(DOCS, "rhcos-4.16-amis.adoc");
    const x86 = await spawnBootstream(["render", RHCOS, "--check", golden, "-a", "x86_64"]);
    assert.equal(x86.code, 0, x86.stdout + x86.stderr);
    assert.match(x86.stderr, /: 1 table matches the stream$/m);
    const doc = join(tempDir(), "aarch64.adoc");
    writeFileSync(doc, await render([RHCOS, "--what", "amis", "-a", "aarch64"]));
    const both = await runBootstream(["render", RHCOS, "--check", doc, "-a", "x86_64,aarch64", "--json"]);
    assert.equal(both.code, 1);
    assert.deepEqual(
      (JSON.parse(both.stdout) as CheckJson).findings.map((f) => [f.kind, f.caption]),
      [["missing-table", "x86_64 {op-system} AMIs"]],
    );
    // --what names kinds: then every table of those kinds is required.
    const what = await runBootstream([
      "render",
      RHCOS,
      "--check",
      golden,
      "-a",
      "x86_64",
      "--what",
      "all",
      "--json",
    ]);
    assert.equal(what.code, 1);
    assert.equal((JSON.parse(what.stdout) as CheckJson).findings.length, 5);
  });

  it("variants of a table in ifdef::/ifndef:: blocks are each checked and each rewritten; a repeat in one block is still an error", async () => {
    const older = olderStream();
    const table = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    const page = (t: string, u: string) =>
      `= AMIs\n\nifdef::openshift-origin[]\n${t}endif::openshift-origin[]\nifndef::openshift-origin[]\n${u}endif::openshift-origin[]\n`;
    const doc = join(tempDir(), "variants.adoc");
    writeFileSync(doc, page(table, table));
    const check = await runBootstream(["render", older, "--check", doc, "--json"]);
    assert.equal(check.code, 1);
    const findings = (JSON.parse(check.stdout) as CheckJson).findings;
    assert.equal(findings.length, 6, "three per variant");
    const update = await runBootstream(["render", older, "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    const want = await render([older, "--what", "amis", "-a", "x86_64"]);
    assert.equal(readFileSync(doc, "utf8"), page(want, want));
    assert.equal((await runBootstream(["render", older, "--check", doc])).code, 0);
    for (const [label, text] of [
      ["in one block", `ifdef::x[]\n${table}\n${table}endif::x[]\n`],
      ["one outside", `ifdef::x[]\n${table}endif::x[]\n\n${table}`],
    ]) {
      writeFileSync(doc, text as string);
      const run = await spawnBootstream(["render", older, "--check", doc]);
      assert.equal(run.code, 1, label);
      assert.match(run.stderr, /repeats the one at line \d+/, label);
    }
  });

  it("counts read as English: 1 row, 1 difference, 1 table matches", async () => {
    const doc = join(tempDir(), "one.adoc");
    writeFileSync(
      doc,
      '.s390x {op-system} AMIs\n[cols="2a,2a",options="header"]\n|===\n|AWS zone\n|AWS AMI\n|`us-east-1`\n|`ami-1`\n|===\n',
    );
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\(1 row in the doc\)$/m);
    assert.match(run.stderr, /: 1 difference$/m);
  });

  it("a selection the stream has no table for is NOT_FOUND (exit 1), not an empty page", async () => {
    // rhcos-4.16 has no AMIs for s390x.
    const run = await spawnBootstream(["render", RHCOS, "--what", "amis", "-a", "s390x"]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /rhcos-4\.16 has no amis tables for s390x/);
    const json = await spawnBootstream(["render", RHCOS, "--what", "amis", "-a", "s390x", "--json"]);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, "NOT_FOUND");
  });

  it("--json with --format csv (no --check) is a usage error, not quietly JSON", async () => {
    const run = await spawnBootstream(["render", RHCOS, "--json", "--format", "csv"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout.trim().startsWith("{"), true);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, "USAGE");
    const json = await runBootstream(["render", RHCOS, "--json", "--format", "json", "--what", "amis"]);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(await render([RHCOS, "--json", "--what", "amis"])));
  });

  it("library: updateDocTables derives the findings checkDocTables gives for the same options", () => {
    const stream = parseStream(readFileSync(olderStream()));
    const text = readFileSync(join(DOCS, "rhcos-4.16-amis.adoc"), "utf8");
    const tables = findDocTables(text, "asciidoc", "amis.adoc");
    const options = { architectures: ["x86_64"], required: "doc-kinds" } as const;
    const update = updateDocTables(text, "asciidoc", tables, stream, options);
    assert.deepEqual(update.findings, checkDocTables(tables, stream, options));
    assert.equal(update.findings.length, 3);
    assert.deepEqual(
      update.rewritten.map((t) => t.caption),
      ["x86_64 {op-system} AMIs"],
    );
    assert.deepEqual(
      checkDocTables(findDocTables(update.text, "asciidoc", "amis.adoc"), stream, options),
      [],
    );
  });
});

describe("render: hostile input", () => {
  const EVIL = "ami-1|`x`<script>alert(1)</script> _y_ -- {op-system} \\";
  const FORMULA = '=HYPERLINK("http://evil.example/","x")';

  function hostileStream(): string {
    const stream = rhcosJson();
    const regions = awsOf(stream, "x86_64").regions;
    (regions["us-east-1"] as { image: string }).image = EVIL;
    (regions["us-west-2"] as { image: string }).image = FORMULA;
    (regions["eu-west-1"] as { image: string }).image = "+1|@SUM(A1)";
    return writeJson(tempDir(), "hostile.json", stream);
  }

  it("AsciiDoc: a value stays in its cell (one line, a passthrough of references) and reads back exactly", async () => {
    const source = hostileStream();
    const out = await render([source, "--what", "amis", "-a", "x86_64"]);
    const body = out.split("\n").filter((l) => l.startsWith("|") && l !== "|===");
    const regions = Object.keys(awsOf(rhcosJson(), "x86_64").regions).length;
    assert.equal(body.length, 2 + 2 * regions, "one line per cell");
    for (const line of body.slice(2))
      assert.match(line, /^\|`(?:[A-Za-z0-9._:/@%=?, -]+|pass:\[[A-Za-z0-9&#;]+\])`$/);
    assert.doesNotMatch(out, /<script|\{op-system\} \\/);
    const doc = join(tempDir(), "hostile.adoc");
    writeFileSync(doc, out);
    const check = await runBootstream(["render", source, "--check", doc]);
    assert.equal(check.code, 0, check.stdout);
  });

  it("Markdown: two cells per row whatever the value, and it reads back exactly", async () => {
    const source = hostileStream();
    const out = await render([source, "--format", "markdown", "--what", "amis", "-a", "x86_64"]);
    for (const line of out.split("\n").filter((l) => l.startsWith("| `") || l.startsWith("| &"))) {
      assert.equal(line.replaceAll("\\|", "").split("|").length, 4, line);
    }
    assert.doesNotMatch(out, /<script|`x`/);
    const doc = join(tempDir(), "hostile.md");
    writeFileSync(doc, out);
    assert.equal((await runBootstream(["render", source, "--check", doc])).code, 0);
  });

  it("HTML: every value escaped", async () => {
    const out = await render([hostileStream(), "--format", "html", "--what", "amis", "-a", "x86_64"]);
    assert.doesNotMatch(out, /<script/);
    assert.match(
      out,
      /<code>ami-1\|`x`&lt;script&gt;alert\(1\)&lt;\/script&gt; _y_ -- \{op-system\} \\<\/code>/,
    );
  });

  it("CSV: formulas neutralised (OWASP), quotes doubled", async () => {
    const out = await render([hostileStream(), "--format", "csv", "--what", "amis", "-a", "x86_64"]);
    assert.ok(
      out.includes(`x86_64,amis,us-west-2,AWS AMI,"'=HYPERLINK(""http://evil.example/"",""x"")"\r\n`),
    );
    assert.ok(out.includes("x86_64,amis,eu-west-1,AWS AMI,'+1|@SUM(A1)\r\n"));
    assert.doesNotMatch(out, /,[=+@-]/);
  });

  it("a doc that is a symlink, a directory, a FIFO or huge is refused (exit 2) and left alone", async () => {
    const dir = tempDir();
    const real = join(dir, "real.adoc");
    const text = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    writeFileSync(real, text);
    const link = join(dir, "link.adoc");
    symlinkSync(real, link);
    const older = olderStream();
    const viaLink = await spawnBootstream(["render", older, "--update", link]);
    assert.equal(viaLink.code, 2, viaLink.stderr);
    assert.match(viaLink.stderr, /symbolic link/);
    assert.equal(readFileSync(real, "utf8"), text);

    const sub = join(dir, "docs");
    mkdirSync(sub);
    const directory = await spawnBootstream(["render", RHCOS, "--check", sub]);
    assert.equal(directory.code, 2);
    assert.match(directory.stderr, /not a regular file/);

    const fifo = join(dir, "fifo.adoc");
    execFileSync("mkfifo", [fifo]);
    const pipe = await spawnBootstream(["render", RHCOS, "--check", fifo], { timeoutMs: 10_000 });
    assert.equal(pipe.code, 2);

    const huge = join(dir, "huge.adoc");
    writeFileSync(huge, "");
    truncateSync(huge, 5 * 1024 * 1024);
    const big = await spawnBootstream(["render", RHCOS, "--check", huge, "--json"]);
    assert.equal(big.code, 2);
    assert.equal((JSON.parse(big.stdout) as { error: { code: string } }).error.code, "TOO_LARGE");
  });

  it("an unterminated table, a caption without a table, a caption twice: the line is named, nothing written", async () => {
    const table = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    const cases: [string, string, RegExp][] = [
      [
        "unterminated",
        `intro\n\n${table.slice(0, table.lastIndexOf("|==="))}more prose\n`,
        /:6: the table "x86_64 \{op-system\} AMIs" opened here has no closing \|===/,
      ],
      [
        "no table",
        "intro\n\n.x86_64 {op-system} AMIs\n\nprose, not a table\n",
        /:3: caption "x86_64 \{op-system\} AMIs" is not followed by a table/,
      ],
      ["twice", `${table}\n${table}`, /:\d+: caption "x86_64 \{op-system\} AMIs" repeats the one at line 1/],
    ];
    const older = olderStream();
    for (const [label, text, message] of cases) {
      const doc = join(tempDir(), "bad.adoc");
      writeFileSync(doc, text);
      const run = await spawnBootstream(["render", older, "--update", doc]);
      assert.equal(run.code, 1, `${label}: ${run.stderr}`);
      assert.match(run.stderr, message, label);
      assert.equal(readFileSync(doc, "utf8"), text, label);
    }
  });

  it("escape sequences in a doc's caption are not replayed on the terminal", async () => {
    const doc = join(tempDir(), "esc.adoc");
    writeFileSync(doc, ".x86_64 \u001b]0;pwned\u0007\u001b[2J AMIs\n\nno table\n");
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /\\u001b/);
    assert.ok(!(run.stderr + run.stdout).includes("\u001b"));
  });

  it("comment and listing blocks are prose: a caption inside one is not a table", async () => {
    const table = await render([RHCOS, "--what", "amis", "-a", "x86_64"]);
    const doc = join(tempDir(), "example.adoc");
    writeFileSync(
      doc,
      `${table}\n----\n.x86_64 {op-system} AMIs\n----\n\n////\n.aarch64 {op-system} AMIs\n////\n`,
    );
    assert.equal((await runBootstream(["render", RHCOS, "--check", doc])).code, 0);
  });
});
