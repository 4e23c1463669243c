/**
 * `render --check` / `--update` against doc files and file systems that fight back: captions
 * that are ours but misspelt (or missing altogether, which must not pass a docs CI), a
 * byte-order mark, Asciidoctor's longer `|====` delimiters and comment lines, Markdown
 * captions in HTML comments or code, megabyte lines, ten thousand tables, invalid UTF-8, a
 * hard-linked, read-only or full-disk doc. Each attack runs the real executable (the swap
 * between read and write is src/files/text-file.test.ts's).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hasControlCharacterBesidesLayout } from "../../src/schema/text.ts";
import { BIN, runBootstream, spawnBootstream } from "../helpers/cli.ts";
import { fixtureJson, fixturePath, tempDir, writeJson } from "../helpers/fixtures.ts";
import { fillUp, smallTmpfs } from "../helpers/full-disk.ts";
import { spawnAsUser } from "../helpers/other-user.ts";

const RHCOS = fixturePath("rhcos-installer-stream.json");

interface Regions {
  regions: Record<string, { release: string; image: string }>;
}
type StreamJson = { architectures: Record<string, { images: { aws: Regions } }> };

/** rhcos-4.16 with the x86_64 AMI of us-east-1 changed: a stream the docs drifted from. */
function newerStream(): string {
  const stream = fixtureJson<StreamJson>("rhcos-installer-stream.json");
  const regions = (stream.architectures.x86_64 as { images: { aws: Regions } }).images.aws.regions;
  regions["us-east-1"] = { release: "416.94.202406251923-0", image: "ami-0ccccccccccccccc3" };
  return writeJson(tempDir(), "newer.json", stream);
}

/** Tables to build attacks from: rendered in-process (the attacks themselves run the executable). */
async function renderText(...args: string[]): Promise<string> {
  const run = await runBootstream(["render", RHCOS, ...args]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout;
}

const x86Amis = () => renderText("--what", "amis", "-a", "x86_64");

function docFile(text: string | Buffer, name = "amis.adoc"): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

/** The real executable under /usr/bin/time: exit code, stderr, peak resident memory and wall time. */
function measured(args: string[]): Promise<{ code: number; stderr: string; maxRssKb: number; ms: number }> {
  const report = join(tempDir(), "time.txt");
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%M", "-o", report, process.execPath, BIN, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const maxRssKb = Number(readFileSync(report, "utf8").trim().split("\n").at(-1));
      resolve({ code: code ?? -1, stderr, maxRssKb, ms: Date.now() - started });
    });
  });
}

function errorCode(stdout: string): string {
  return (JSON.parse(stdout) as { error: { code: string } }).error.code;
}

/** Files in `dir` other than `keep`: temporaries an interrupted write would leave. */
function strays(dir: string, keep: readonly string[]): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}

describe("render: a doc whose tables would go unchecked fails the check", () => {
  it("attack: --check a doc with none of bootstream's captions -> NOT_FOUND (exit 1), not a silent pass", async () => {
    const doc = docFile("= Boot images\n\nThe AMIs are listed elsewhere.\n");
    const run = await spawnBootstream(["render", RHCOS, "--check", doc, "--json"]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(errorCode(run.stdout), "NOT_FOUND");
    assert.match(run.stderr, /none of the tables asked for .*nothing was checked/);
    const update = await spawnBootstream(["render", RHCOS, "--update", doc]);
    assert.equal(update.code, 1);
  });

  it("attack: -a and --what select nothing the doc or the stream has -> NOT_FOUND, not '0 tables match'", async () => {
    const doc = docFile(await x86Amis());
    const run = await spawnBootstream([
      "render",
      RHCOS,
      "--check",
      doc,
      "-a",
      "s390x",
      "--what",
      "amis",
      "--json",
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(errorCode(run.stdout), "NOT_FOUND");
  });

  for (const [label, caption] of [
    ["upper-case architecture", ".X86_64 {op-system} AMIs"],
    ["a tab after the architecture", ".x86_64\t{op-system} AMIs"],
    ["a lower-case title", ".x86_64 {op-system} amis"],
  ] as const) {
    it(`attack: a caption that is ours but for ${label} -> INVALID_DOCUMENT naming the line, not skipped`, async () => {
      const table = await x86Amis();
      const doc = docFile(`= Boot images\n\n${table.replace(".x86_64 {op-system} AMIs", caption)}`);
      const run = await spawnBootstream(["render", RHCOS, "--check", doc, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(errorCode(run.stdout), "INVALID_DOCUMENT");
      assert.match(run.stderr, /amis\.adoc:3: caption .* looks like a table's but is not written as one/);
    });
  }

  it("a prose title that ends like ours (.Supported AMIs) stays prose", async () => {
    const doc = docFile(`.Supported AMIs\nSee below.\n\n${await x86Amis()}`);
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /: 1 table matches the stream$/m);
  });

  it("attack: Markdown captions in an HTML comment or an indented code block are prose", async () => {
    const table = await renderText("--format", "markdown", "--what", "amis", "-a", "x86_64");
    const aarch64 = table.replaceAll("x86_64", "aarch64");
    const indented = aarch64
      .split("\n")
      .map((l) => (l === "" ? l : `    ${l}`))
      .join("\n");
    const doc = docFile(`${table}\n<!--\n${aarch64}-->\n\nAn example:\n\n${indented}\n`, "amis.md");
    const run = await spawnBootstream(["render", RHCOS, "--check", doc]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stderr, /: 1 table matches the stream$/m);
  });
});

describe("render: AsciiDoc that Asciidoctor reads as the same table", () => {
  it("attack: a byte-order mark before the first caption -> the table is found; --update keeps the mark", async () => {
    const doc = docFile(`\uFEFF${await x86Amis()}`);
    const check = await spawnBootstream(["render", newerStream(), "--check", doc]);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stdout, /us-east-1: the doc has "ami-[0-9a-f]+", the stream "ami-0ccccccccccccccc3"/);
    const newer = newerStream();
    assert.equal((await spawnBootstream(["render", newer, "--update", doc])).code, 0);
    const bytes = readFileSync(doc);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.equal((await spawnBootstream(["render", newer, "--check", doc])).code, 0);
  });

  it("attack: a table delimited by |==== with // comments before it -> checked, and --update keeps its delimiters", async () => {
    const table = (await x86Amis())
      .replaceAll("|===\n", "|====\n")
      .replace("\n[cols", "\n// generated from the stream\n[cols");
    const doc = docFile(`${table}\nAfter.\n`);
    const newer = newerStream();
    const check = await spawnBootstream(["render", newer, "--check", doc]);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stdout, /us-east-1: the doc has/);
    const update = await spawnBootstream(["render", newer, "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    const newerTable = (await spawnBootstream(["render", newer, "--what", "amis", "-a", "x86_64"])).stdout
      .replaceAll("|===\n", "|====\n")
      .replace("\n[cols", "\n// generated from the stream\n[cols");
    assert.equal(readFileSync(doc, "utf8"), `${newerTable}\nAfter.\n`);
  });

  it("attack: a table without cols, its header on one line -> --update keeps one row per line, so Asciidoctor still sees two columns and a header", async () => {
    const newer = newerStream();
    const rows = (
      await spawnBootstream(["render", newer, "--format", "json", "--what", "amis", "-a", "x86_64"])
    ).stdout;
    const want = (JSON.parse(rows) as { tables: { rows: string[][] }[] }).tables[0]?.rows ?? [];
    const doc = docFile(
      ".x86_64 {op-system} AMIs\n|===\n|AWS zone |AWS AMI\n\n|`us-east-1` |`ami-1`\n|===\nAfter.\n",
    );
    const update = await spawnBootstream(["render", newer, "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    const body = want.map(([region, ami]) => `|\`${region}\` |\`${ami}\``).join("\n");
    assert.equal(
      readFileSync(doc, "utf8"),
      `.x86_64 {op-system} AMIs\n|===\n|AWS zone |AWS AMI\n\n${body}\n|===\nAfter.\n`,
    );
    assert.equal((await spawnBootstream(["render", newer, "--check", doc])).code, 0);
    // Without a header row, no line of the rewrite may pass for one (a first line, then a blank).
    const bare = docFile(
      ".x86_64 {op-system} AMIs\n|===\n|`us-east-1` |`ami-1`\n|`us-east-2` |`ami-2`\n|===\n",
    );
    assert.equal((await spawnBootstream(["render", newer, "--update", bare])).code, 0);
    assert.equal(readFileSync(bare, "utf8"), `.x86_64 {op-system} AMIs\n|===\n${body}\n|===\n`);
  });

  it("a one-line first row after a blank line is a row, not an implicit header (as Asciidoctor reads it)", async () => {
    const doc = docFile(
      ".x86_64 {op-system} AMIs\n|===\n\n|AWS zone |AWS AMI\n\n|`us-east-1` |`ami-1`\n|===\n",
    );
    const run = await spawnBootstream(["render", RHCOS, "--check", doc, "--json"]);
    const findings = (JSON.parse(run.stdout) as { findings: { kind: string; key: string }[] }).findings;
    assert.ok(
      findings.some((f) => f.kind === "extra" && f.key === "AWS zone"),
      run.stdout,
    );
  });

  it("attack: [cols,options] above the caption, // comments and cell specs in the table -> read as Asciidoctor reads them", async () => {
    const doc = docFile(
      [
        '[cols="2a,2a",options="header"]',
        ".x86_64 {op-system} AMIs",
        "|===",
        "|AWS zone",
        "|AWS AMI",
        "// |`eu-west-1`",
        "////",
        "|`us-east-1` m|ami-1",
        "|===",
        "",
      ].join("\n"),
    );
    const run = await spawnBootstream(["render", RHCOS, "--check", doc, "--json"]);
    const findings = (JSON.parse(run.stdout) as { findings: { kind: string; key: string; doc?: string[] }[] })
      .findings;
    // The header row is the header, the comments are no rows, `m` is the spec of the AMI cell.
    assert.deepEqual(
      findings.filter((f) => f.kind !== "missing"),
      [findings.find((f) => f.key === "us-east-1")],
    );
    assert.deepEqual(findings.find((f) => f.key === "us-east-1")?.doc, ["ami-1"]);
  });

  it("attack: ifdef:: or include:: inside a table -> INVALID_DOCUMENT naming the line, not a guess at the rows", async () => {
    for (const directive of ["ifdef::openshift-origin[]", "include::gov-regions.adoc[]"]) {
      const table = (await x86Amis()).replace("|`us-east-1`", `${directive}\n|\`us-east-1\``);
      const doc = docFile(table);
      const line = table.split("\n").indexOf(directive) + 1;
      const run = await spawnBootstream(["render", newerStream(), "--update", doc, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.equal(errorCode(run.stdout), "INVALID_DOCUMENT");
      assert.match(run.stderr, new RegExp(`amis\\.adoc:${line}: .* inside the table`));
      assert.equal(readFileSync(doc, "utf8"), table);
    }
  });

  it("attack: |=== inside a |==== table is a cell, not the end of the table", async () => {
    const doc = docFile(".x86_64 {op-system} AMIs\n|====\n|a|b\n|===\n|====\n");
    const run = await spawnBootstream(["render", RHCOS, "--check", doc, "--json"]);
    // Three cells in rows of two: a malformed table, named, rather than a table cut at |===.
    assert.equal(run.code, 1);
    assert.equal(errorCode(run.stdout), "INVALID_DOCUMENT");
    assert.match(run.stderr, /has 3 cells, not rows of 2 columns/);
  });
});

describe("render: documents built to exhaust", () => {
  it("attack: ten thousand tables and megabyte lines -> answered in seconds, each message one short line", async () => {
    const tables = Array.from(
      { length: 10_000 },
      (_, i) =>
        `.a${i} {op-system} AMIs\n\n[cols="2a,2a",options="header"]\n|===\n\n|AWS zone\n|AWS AMI\n\n|\`us-east-1\`\n|\`ami-1\`\n\n|===\n`,
    );
    const started = Date.now();
    const many = await spawnBootstream(["render", RHCOS, "--check", docFile(tables.join("\n"))]);
    assert.equal(many.code, 1);
    // The first thousand findings, then a count of the rest; --json carries as many and the total.
    const printed = many.stdout.trimEnd().split("\n");
    assert.equal(printed.length, 1001);
    assert.equal(printed.at(-1), "... and 9000 more");
    assert.match(many.stderr, /: 10000 differences$/m);
    const json = await spawnBootstream(["render", RHCOS, "--check", docFile(tables.join("\n")), "--json"]);
    const report = JSON.parse(json.stdout) as { count: number; findings: unknown[] };
    assert.equal(report.count, 10_000);
    assert.equal(report.findings.length, 1000);
    const long = [
      `.${"x".repeat(1_000_000)} AMIs\n`,
      `.x86_64 ${"{op-system} ".repeat(90_000)}AMIs\n\n|===\n`,
      `${await x86Amis()}.x86_64 ${" ".repeat(1_000_000)}x\n`,
    ];
    for (const text of long) {
      const run = await spawnBootstream(["render", RHCOS, "--check", docFile(text)]);
      assert.ok(run.stdout.length + run.stderr.length < 2000, `${run.stderr.slice(0, 200)}...`);
    }
    assert.ok(Date.now() - started < 20_000, `${Date.now() - started} ms`);
  });

  it("attack: 4 MiB docs of pipes, rows and newlines -> refused or answered within a second or two, peak memory under 300 MB", async () => {
    const MiB = 1024 * 1024;
    const rowsTables = (rows: number, count: number, variants = false) =>
      Array.from({ length: count }, (_, t) => {
        const body = Array.from({ length: rows }, (_, r) => `|\`k${t}-${r}\` |\`ami-${r}\`\n`).join("");
        const table = `.${variants ? "x86_64" : `a${t}0`} {op-system} AMIs\n[cols="2a,2a"]\n|===\n${body}|===\n`;
        return variants ? `ifdef::v${t}[]\n${table}endif::v${t}[]\n` : table;
      }).join("\n");
    const attacks: { label: string; text: string; name?: string; code: number; message: RegExp }[] = [
      {
        label: "a table that is one line of pipes",
        text: `.x86_64 {op-system} AMIs\n[cols="2a,2a"]\n|===\n${"|".repeat(4 * MiB - 100)}\n|===\n`,
        code: 1,
        message: /amis\.adoc:4: the table "x86_64 \{op-system\} AMIs" has more than 50000 cells/,
      },
      {
        label: "the same without cols (its first line gives the columns)",
        text: `.x86_64 {op-system} AMIs\n|===\n${"|".repeat(4 * MiB - 100)}\n|===\n`,
        code: 1,
        message: /amis\.adoc:3: .* more than 50000 cells/,
      },
      {
        label: "a Markdown header of pipes",
        text: `**x86_64 CoreOS AMIs**\n\n${"|".repeat(2 * MiB)}\n${"|---".repeat(MiB / 2 - 100)}|\n`,
        name: "amis.md",
        code: 1,
        message: /amis\.md:3: .* more than 50000 cells/,
      },
      {
        label: "tables of `||` rows",
        text: Array.from(
          { length: 130 },
          (_, t) => `.a${t}0 {op-system} AMIs\n[cols="2"]\n|===\n${"||\n".repeat(10_001)}|===\n`,
        ).join(""),
        code: 1,
        message: /: the table "a00 \{op-system\} AMIs" has more than 10000 rows/,
      },
      {
        label: "tables of rows just under the cap per table",
        text: rowsTables(9_999, 3),
        code: 1,
        message: /: the tables up to "a20 \{op-system\} AMIs" have more than 20000 rows in all/,
      },
      {
        label: "newlines",
        text: `.x86_64 {op-system} AMIs\n|===\n${"\n".repeat(4 * MiB - 100)}|===\n`,
        code: 1,
        message: /has 0 cells/,
      },
    ];
    for (const attack of attacks) {
      const run = await measured(["render", RHCOS, "--check", docFile(attack.text, attack.name)]);
      assert.equal(run.code, attack.code, `${attack.label}: ${run.stderr.slice(0, 300)}`);
      assert.match(run.stderr, attack.message, attack.label);
      assert.ok(run.stderr.length < 1000, attack.label);
      assert.ok(run.maxRssKb < 300 * 1024, `${attack.label}: ${run.maxRssKb} KB`);
      assert.ok(run.ms < 5_000, `${attack.label}: ${run.ms} ms`);
    }
    // The most a doc within the caps costs: two variants of a table of 10,000 rows, each a finding.
    const within = docFile(rowsTables(10_000, 2, true));
    for (const args of [
      ["--check", within],
      ["--update", within, "-o", join(tempDir(), "out.adoc"), "--json"],
    ]) {
      const run = await measured(["render", RHCOS, ...args]);
      assert.ok(run.maxRssKb < 300 * 1024, `${args[0]}: ${run.maxRssKb} KB`);
      assert.ok(run.ms < 5_000, `${args[0]}: ${run.ms} ms`);
    }
  });

  it("attack: invalid UTF-8 -> INVALID_DOCUMENT naming the line, the file untouched", async () => {
    const bytes = Buffer.concat([
      Buffer.from(await x86Amis()),
      Buffer.from("prose \xff\xfe end\n", "latin1"),
    ]);
    const doc = docFile(bytes);
    const line = (await x86Amis()).split("\n").length;
    const run = await spawnBootstream(["render", newerStream(), "--update", doc, "--json"]);
    assert.equal(run.code, 1);
    assert.equal(errorCode(run.stdout), "INVALID_DOCUMENT");
    assert.match(run.stderr, new RegExp(`amis\\.adoc:${line}: expected UTF-8 text`));
    assert.deepEqual(readFileSync(doc), bytes);
  });
});

describe("render --update: the file system", () => {
  it("attack: a hard-linked doc -> refused (exit 2), both names unchanged; the advice given (--update -o OUT) works", async () => {
    const text = await x86Amis();
    const doc = docFile(text);
    const other = `${doc}.link`;
    linkSync(doc, other);
    const newer = newerStream();
    const run = await spawnBootstream(["render", newer, "--update", doc]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /2 hard links/);
    assert.equal(readFileSync(other, "utf8"), text);
    const out = join(tempDir(), "updated.adoc");
    const elsewhere = await spawnBootstream(["render", newer, "--update", doc, "-o", out]);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.equal(readFileSync(doc, "utf8"), text, "the doc itself is not written");
    assert.equal(
      readFileSync(out, "utf8"),
      (await spawnBootstream(["render", newer, "--what", "amis", "-a", "x86_64"])).stdout,
    );
    const stdout = await spawnBootstream(["render", newer, "--update", doc, "-o", "-"]);
    assert.equal(stdout.stdout, readFileSync(out, "utf8"));
    assert.equal((await spawnBootstream(["render", newer, "--check", doc, "-o", out])).code, 2);
  });

  it("attack: a read-only doc, as a user who may write its directory -> replaced like sed -i, mode 0444 kept; in a read-only directory -> IO (exit 2), untouched", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    // The stream where the other user can read it (a temporary directory is 0700).
    const newer = join(dir, "newer.json");
    writeFileSync(newer, readFileSync(newerStream()), { mode: 0o644 });
    const text = await x86Amis();
    const doc = join(dir, "amis.adoc");
    writeFileSync(doc, text);
    chmodSync(doc, 0o444);
    execFileSync("chown", ["4321:4321", doc]);
    const asUser = (args: string[]) => spawnAsUser(args, { uid: 4321, gid: 4321, home: dir });
    const writable = await asUser(["render", newer, "--update", doc]);
    assert.equal(writable.code, 0, writable.stderr);
    assert.match(readFileSync(doc, "utf8"), /ami-0ccccccccccccccc3/);
    assert.equal(statSync(doc).mode & 0o777, 0o444);

    writeFileSync(doc, text);
    chmodSync(dir, 0o555);
    const readOnlyDir = await asUser(["render", newer, "--update", doc]);
    chmodSync(dir, 0o755);
    assert.equal(readOnlyDir.code, 2, readOnlyDir.stderr);
    assert.match(readOnlyDir.stderr, /permission denied/);
    assert.equal(readFileSync(doc, "utf8"), text);
    assert.deepEqual(strays(dir, ["amis.adoc", "newer.json"]), []);
  });

  describe("a full disk (tmpfs of 64k)", () => {
    const disk = smallTmpfs("bootstream-render-full-");

    it("attack: --update a doc on a full disk -> IO (exit 2), the doc as it was, no *.tmp", async () => {
      const full = disk.path();
      const dir = join(full, "docs");
      mkdirSync(dir);
      const text = await x86Amis();
      const doc = join(dir, "amis.adoc");
      writeFileSync(doc, text);
      fillUp(full, 1024);
      const run = await spawnBootstream(["render", newerStream(), "--update", doc, "--json"]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(errorCode(run.stdout), "IO");
      assert.match(run.stderr, /no space left/);
      assert.equal(readFileSync(doc, "utf8"), text);
      assert.deepEqual(strays(dir, ["amis.adoc"]), []);
    });
  });
});

describe("render: what reaches the terminal", () => {
  // A docs checkout is someone else's tree: a file name is as hostile as the file.

  it("attack: a doc named with ESC, a C1 CSI and a bidi override -> --check and --update print the name escaped", async () => {
    const name = "amis\u001b]0;owned\u0007\u009b2J\u202eeb.adoc";
    const doc = docFile(await x86Amis(), name);
    const check = await spawnBootstream(["render", newerStream(), "--check", doc]);
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stdout, /amis\\u001b\]0;owned\\u0007\\u009b2J\\u202eeb\.adoc:\d+: "x86_64/);
    const update = await spawnBootstream(["render", newerStream(), "--update", doc]);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stderr, /\\u202eeb\.adoc:1: rewrote "x86_64 \{op-system\} AMIs"/);
    const again = await spawnBootstream(["render", newerStream(), "--update", doc]);
    assert.match(again.stderr, /\\u202eeb\.adoc: up to date/);
    for (const run of [check, update, again])
      assert.ok(!hasControlCharacterBesidesLayout(run.stdout + run.stderr), run.stdout + run.stderr);
  });
});
