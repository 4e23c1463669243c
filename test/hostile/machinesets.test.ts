/**
 * Hostile `bootstream machinesets` (real processes): what `-o` does to inputs that are not
 * shaped like the fixtures (CRLF, a BOM, aliases, merge keys, thousands of MachineSets),
 * Azure images the operator reads differently from their variant, hostile names and images,
 * and the merge patches applied by a real RFC 7386 implementation (kubectl).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { BIN, spawnBootstream } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep JSON.
type Json = Record<string, any>;

const DIR = fileURLToPath(new URL("../fixtures/machinesets/", import.meta.url));
const ms = (name: string) => join(DIR, name);
const text = (name: string) => readFileSync(ms(name), "utf8");
const STREAM = ms("rhcos-4.16-marketplace-stream.json");

const AWS_OLD = "ami-00434fdc5b33448cc"; // rhcos-4.8-stream.json, x86_64 us-east-1
const AWS_X86 = "ami-05483066c3caaccf5"; // rhcos-installer-stream.json, x86_64 us-east-1
const GCP = "projects/rhcos-cloud/global/images/";
const GCP_X86 = `${GCP}rhcos-416-94-202405291527-0-gcp-x86-64`;

/** Runs `machinesets STREAM -f FILE -o OUT` on `input`; returns the run and what OUT holds. */
async function rewrite(
  input: string,
  extra: string[] = [],
): Promise<{ code: number; stderr: string; out: string }> {
  const dir = tempDir();
  const [file, out] = [join(dir, "in"), join(dir, "out")];
  writeFileSync(file, input);
  const run = await spawnBootstream(["machinesets", STREAM, "-f", file, "-o", out, ...extra]);
  let written = "";
  try {
    written = readFileSync(out, "utf8");
  } catch {
    /* nothing written */
  }
  return { code: run.code ?? -1, stderr: run.stderr, out: written };
}

async function reports(input: string): Promise<Json[]> {
  const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "--json"], { stdin: input });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).machineSets as Json[];
}

/** Every object of a List, multi-document YAML or JSON text, as plain data (merge keys on, as kubectl). */
function objectsOf(source: string): Json[] {
  return parseAllDocuments(source, { merge: true })
    .map((d) => d.toJS() as Json | null)
    .filter((v): v is Json => v !== null)
    .flatMap((v) => (Array.isArray(v.items) ? (v.items as Json[]) : [v]));
}

/** The Azure fixture with every line ending in CRLF, and as tab-indented CRLF JSON. */
function azureCrlf(): { yaml: string; json: string } {
  const yaml = text("azure-machinesets.yaml").replaceAll("\n", "\r\n");
  const list = parseAllDocuments(text("azure-machinesets.yaml"))[0]?.toJS();
  const json = `${JSON.stringify(list, null, "\t")}\n`.replaceAll("\n", "\r\n");
  return { yaml, json };
}

describe("machinesets -o: byte-preserving on inputs unlike the fixtures", () => {
  it("keeps CRLF line endings where a whole Azure image mapping is rewritten (YAML and JSON)", async () => {
    for (const input of Object.values(azureCrlf())) {
      const { code, stderr, out } = await rewrite(input);
      assert.equal(code, 0, stderr);
      assert.notEqual(out, input);
      // Every line break is still CRLF: no bare LF was spliced in.
      assert.doesNotMatch(out, /[^\r]\n/);
      assert.match(out, /MarketplaceNoPlan/);
    }
  });

  it("keeps a UTF-8 byte order mark", async () => {
    const input = `\uFEFF${text("aws-machinesets-docs.yaml")}`;
    const { code, stderr, out } = await rewrite(input);
    assert.equal(code, 0, stderr);
    assert.equal(out, input.replace(`id: ${AWS_OLD}`, `id: ${AWS_X86}`));
  });

  it("rewrites an AMI given by an alias (*ref) into valid YAML with only that MachineSet changed", async () => {
    const input = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- kind: MachineSet",
      "  metadata: {name: a, namespace: openshift-machine-api}",
      "  spec: {template: {spec: {providerSpec: {value:",
      "    {kind: AWSMachineProviderConfig, placement: {region: us-west-2}, ami: &old {id: ami-00434fdc5b33448cc}}}}}}",
      "- kind: MachineSet",
      "  metadata: {name: b, namespace: openshift-machine-api}",
      "  spec:",
      "    template:",
      "      spec:",
      "        providerSpec:",
      "          value:",
      "            kind: AWSMachineProviderConfig",
      "            placement: {region: us-east-1}",
      "            ami: *old",
      "",
    ].join("\n");
    const { code, stderr, out } = await rewrite(input);
    assert.equal(code, 0, stderr);
    const [a, b] = objectsOf(out);
    assert.equal(a?.spec.template.spec.providerSpec.value.ami.id, "ami-0870c7a3d5ef4d2b3"); // us-west-2
    assert.equal(b?.spec.template.spec.providerSpec.value.ami.id, AWS_X86);
    const again = await reports(out);
    assert.deepEqual(
      again.map((r) => r.status),
      ["current", "current"],
    );
  });

  it("refuses, writing nothing, when an anchor shared with a current MachineSet would change it too", async () => {
    const dir = tempDir();
    const stream = JSON.parse(readFileSync(STREAM, "utf8"));
    stream.architectures.x86_64.images.aws.regions["us-west-2"].image = AWS_OLD; // b is current
    const streamFile = join(dir, "stream.json");
    writeFileSync(streamFile, JSON.stringify(stream));
    const input = [
      "kind: List",
      "items:",
      "- kind: MachineSet",
      "  metadata: {name: a}",
      "  spec: {template: {spec: {providerSpec: {value: {kind: AWSMachineProviderConfig, placement: {region: us-east-1}, ami: &old {id: ami-00434fdc5b33448cc}}}}}}",
      "- kind: MachineSet",
      "  metadata: {name: b}",
      "  spec: {template: {spec: {providerSpec: {value: {kind: AWSMachineProviderConfig, placement: {region: us-west-2}, ami: *old}}}}}",
      "",
    ].join("\n");
    const file = join(dir, "in.yaml");
    const out = join(dir, "out.yaml");
    writeFileSync(file, input);
    const run = await spawnBootstream(["machinesets", streamFile, "-f", file, "-o", out, "--json"]);
    assert.equal(run.code, 1);
    // One JSON document on stdout: the error, not the findings followed by it.
    const { error } = JSON.parse(run.stdout);
    assert.equal(error.code, "INVALID_DOCUMENT");
    assert.match(error.message, /nothing written/);
    assert.throws(() => readFileSync(out));
  });

  it("reads merge keys (<<) as kubectl does, and rewrites the MachineSet's own ami", async () => {
    const input = [
      "kind: List",
      "items:",
      "- kind: MachineSet",
      "  metadata: {name: a, namespace: openshift-machine-api}",
      "  spec: {template: {spec: {providerSpec: {value: &base {kind: AWSMachineProviderConfig, placement: {region: us-east-1}, ami: {id: ami-05483066c3caaccf5}}}}}}",
      "- kind: MachineSet",
      "  metadata: {name: b, namespace: openshift-machine-api}",
      "  spec:",
      "    template:",
      "      spec:",
      "        providerSpec:",
      "          value:",
      "            <<: *base",
      "            ami: {id: ami-00434fdc5b33448cc}",
      "",
    ].join("\n");
    const found = await reports(input);
    assert.deepEqual(
      found.map((r) => [r.name, r.platform, r.status]),
      [
        ["a", "aws", "current"],
        ["b", "aws", "stale"],
      ],
    );
    const { code, stderr, out } = await rewrite(input);
    assert.equal(code, 0, stderr);
    assert.equal(out, input.replace(`{id: ${AWS_OLD}}`, `{id: ${AWS_X86}}`));
  });

  it("rewrites 10,000 stale MachineSets in seconds (one pass over the text, not one per splice)", async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({
      kind: "MachineSet",
      metadata: { name: `ms-${i}` },
      spec: {
        template: {
          spec: {
            providerSpec: {
              value: {
                kind: "AWSMachineProviderConfig",
                ami: { id: AWS_OLD },
                placement: { region: "us-east-1" },
              },
            },
          },
        },
      },
    }));
    const input = `${JSON.stringify({ kind: "List", items })}\n`;
    const started = Date.now();
    const { code, stderr, out } = await rewrite(input, ["--check"]);
    const took = Date.now() - started;
    assert.equal(code, 1, stderr); // --check: stale before the rewrite
    assert.equal(out, input.replaceAll(AWS_OLD, AWS_X86));
    assert.ok(took < 12_000, `took ${took} ms`);
  });
});

describe("machinesets -o: scalars kubectl reads as the same string", () => {
  it("quotes a new plain value that YAML 1.1 (kubectl, oc) would read as a boolean or a date", async () => {
    for (const ami of ["on", "2024-01-01", "0777"]) {
      const dir = tempDir();
      const stream = JSON.parse(readFileSync(STREAM, "utf8"));
      stream.architectures.x86_64.images.aws.regions["us-east-1"].image = ami;
      const streamFile = join(dir, "stream.json");
      writeFileSync(streamFile, JSON.stringify(stream));
      const out = join(dir, "out.yaml");
      const run = await spawnBootstream([
        "machinesets",
        streamFile,
        "-f",
        ms("aws-machinesets.yaml"),
        "-o",
        out,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const written = readFileSync(out, "utf8");
      assert.equal(
        written,
        text("aws-machinesets.yaml").replaceAll(
          /id: ami-0(5483066c3caaccf5|0434fdc5b33448cc)/g,
          `id: "${ami}"`,
        ),
      );
    }
  });
});

describe("machinesets: Azure as the operator reads it", () => {
  it("takes Hyper-V Gen2 from the image type, not the publisher: an azureopenshift image without type MarketplaceNoPlan is Gen2 unless its SKU says gen1", async () => {
    const input = text("azure-machinesets.yaml").replace(
      "              type: MarketplaceNoPlan\n              version: 416",
      "              version: 416",
    );
    assert.notEqual(input, text("azure-machinesets.yaml"));
    const found = await reports(input);
    // platform_helpers.go: only Type == MarketplaceNoPlan looks for "v2" in the SKU; otherwise
    // Gen2 unless the SKU contains "gen1".
    assert.equal(found[1]?.wanted, "azureopenshift:aro4:417-v2:417.94.20240701");
    assert.equal(found[1]?.status, "stale");
  });
});

describe("machinesets: hostile values", () => {
  it("a GCP image as a full URL is a custom image (left alone); one with .. under rhcos-cloud is replaced, as the operator does", async () => {
    const base = text("gcp-machinesets.json");
    const old = `${GCP}rhcos-48-83-202102230316-0-gcp-x86-64`;
    const url = base.replace(old, `https://www.googleapis.com/compute/v1/${old}`);
    const [, urlReport] = await reports(url);
    assert.equal(urlReport?.status, "unknown");
    assert.equal(urlReport?.patch, undefined);
    const dots = base.replace(old, `${GCP}../../../evil-project/global/images/x`);
    const [, dotsReport] = await reports(dots);
    assert.equal(dotsReport?.status, "stale");
    assert.equal(dotsReport?.patch.spec.template.spec.providerSpec.value.disks[0].image, GCP_X86);
  });

  it("a namespace with $() and a region with a newline: no oc line, no raw control characters", async () => {
    const input = text("aws-machinesets.yaml")
      .replace("namespace: openshift-machine-api\n", 'namespace: "ns$(touch pwned)"\n')
      .replace("region: us-east-1\n", 'region: "us-east-1\\n\\e[2J"\n');
    const dir = tempDir();
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "--patch"], {
      stdin: input,
      cwd: dir,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /^oc patch machineset ci-ln-x4h2b8t-76ef8-worker-us-east-1a/m);
    assert.ok(!(run.stdout + run.stderr).includes("\u001b"));
    const table = await spawnBootstream(["machinesets", STREAM, "-f", "-"], { stdin: input });
    assert.match(table.stdout, /us-east-1\\u000a\\u001b\[2J/);
    assert.ok(!table.stdout.includes("\u001b"));
  });
});

/** JSON with null-valued object members dropped: kubectl's merge prunes them from replaced arrays. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

// kubectl comes from scripts/tools-up.sh (Debian's kubernetes-client); without it this fails.
describe("machinesets --patch applied by kubectl (a real JSON merge patch)", () => {
  for (const name of ["aws-machinesets.yaml", "gcp-machinesets.json", "azure-machinesets.yaml"]) {
    it(`${name}: kubectl patch --local with each merge patch gives what -o writes`, async () => {
      const dir = tempDir();
      const found = await spawnBootstream(["machinesets", STREAM, "-f", ms(name), "--json"]);
      const written = join(dir, "out");
      const rewrite = await spawnBootstream(["machinesets", STREAM, "-f", ms(name), "-o", written]);
      assert.equal(rewrite.code, 0, rewrite.stderr);
      const before = new Map(objectsOf(text(name)).map((o) => [o.metadata.name, o]));
      const after = new Map(objectsOf(readFileSync(written, "utf8")).map((o) => [o.metadata.name, o]));
      let patched = 0;
      for (const report of JSON.parse(found.stdout).machineSets as Json[]) {
        if (report.patch === undefined) continue;
        const one = join(dir, `${report.name}.json`);
        writeFileSync(one, JSON.stringify(before.get(report.name)));
        const applied = JSON.parse(
          execFileSync(
            "kubectl",
            [
              "patch",
              "--local",
              "-f",
              one,
              "--type",
              "merge",
              "-p",
              JSON.stringify(report.patch),
              "-o",
              "json",
            ],
            { encoding: "utf8" },
          ),
        );
        // The API server's merge (evanphx/json-patch) drops null members inside a replaced
        // array (a GCP disk's `labels: null`), which RFC 7386 keeps; for Go types both are nil.
        assert.deepEqual(withoutNulls(applied), withoutNulls(after.get(report.name)), report.name);
        if (!name.startsWith("gcp")) assert.deepEqual(applied, after.get(report.name), report.name);
        patched++;
      }
      assert.ok(patched >= 1);
    });
  }
});

/** Runs the real executable under GNU time: exit code, stdout, stderr and peak RSS in MB. */
function measured(args: string[]): {
  code: number;
  stdout: string;
  stderr: string;
  peakMb: number;
  seconds: number;
} {
  const started = Date.now();
  const run = spawnSync("/usr/bin/time", ["-f", "peak-rss-kb %M", process.execPath, BIN, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const kb = Number(/peak-rss-kb (\d+)/.exec(run.stderr)?.[1]);
  assert.ok(Number.isFinite(kb), run.stderr);
  return {
    code: run.status ?? -1,
    stdout: run.stdout,
    stderr: run.stderr,
    peakMb: kb / 1024,
    seconds: (Date.now() - started) / 1000,
  };
}

describe("machinesets: input that would cost gigabytes as a YAML tree is refused before one is built", () => {
  const cases: [string, string][] = [
    ["4 MB of --- lines (a million empty YAML documents)", "---\n".repeat(1_000_000)],
    [
      "a 3.9 MB JSON List of 1.3 million empty items",
      `{"kind":"List","items":[${Array(1_300_000).fill("{}").join(",")}]}`,
    ],
    ["a YAML List of 800,000 empty flow items", `kind: List\nitems:\n${"- {}\n".repeat(800_000)}`],
  ];
  for (const [what, input] of cases) {
    it(`${what}: TOO_LARGE (exit 2) naming the limit, in seconds and well under 300 MB`, () => {
      const file = join(tempDir(), "in");
      writeFileSync(file, input);
      const run = measured(["machinesets", STREAM, "-f", file, "--json", "-o", join(tempDir(), "out")]);
      assert.equal(run.code, 2, run.stderr);
      const { error } = JSON.parse(run.stdout);
      assert.equal(error.code, "TOO_LARGE");
      assert.match(error.message, /more than (10000 YAML documents|500000 nodes)[\s\S]*, the limit/);
      assert.ok(run.peakMb < 200, `peak RSS ${run.peakMb.toFixed(0)} MB`);
      assert.ok(run.seconds < 5, `took ${run.seconds} s`);
    });
  }

  it("a List of more than 10,000 items is TOO_LARGE however small each item", async () => {
    const input = `{"kind":"List","items":[${Array(10_001).fill("1").join(",")}]}`;
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "--json"], { stdin: input });
    assert.equal(run.code, 2, run.stderr);
    assert.match(JSON.parse(run.stdout).error.message, /more than 10000 items, the limit/);
  });

  it("JSON is read by the JSON decoder: a duplicate key is refused (exit 1) with its line and pointer", async () => {
    const input = '{"kind": "List",\n "items": [{"kind": "MachineSet", "kind": "Secret"}]}';
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-"], { stdin: input });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /-: not JSON at \/items\/0\/kind: expected unique keys.*line 2/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});

describe("machinesets -o: CRLF input written whole keeps oc's unindented lists", () => {
  it("a boot disk given by a merge key is written out as a mapping whose list sits at its key's column, with CRLF", async () => {
    const lines = [
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- kind: MachineSet",
      "  metadata:",
      "    name: a",
      "    namespace: openshift-machine-api",
      "  spec:",
      "    template:",
      "      spec:",
      "        providerSpec:",
      "          value:",
      "            kind: GCPMachineProviderSpec",
      "            diskDefaults: &disk",
      "              autoDelete: true",
      "              licenses:",
      "              - projects/rhcos-cloud/global/licenses/x",
      "            disks:",
      "            - <<: *disk",
      "              boot: true",
      `              image: ${GCP}rhcos-48-83-202102230316-0-gcp-x86-64`,
      "",
    ];
    const input = lines.join("\r\n");
    const { code, stderr, out } = await rewrite(input);
    assert.equal(code, 0, stderr);
    const pad = " ".repeat(14);
    assert.ok(
      out.endsWith(
        [
          "            disks:",
          "            - autoDelete: true",
          `${pad}licenses:`,
          `${pad}- projects/rhcos-cloud/global/licenses/x`,
          `${pad}boot: true`,
          `${pad}image: ${GCP_X86}`,
          "",
        ].join("\r\n"),
      ),
      out,
    );
    assert.doesNotMatch(out, /[^\r]\n/);
  });
});

describe("machinesets --configmap: a ConfigMap that is not what the cluster holds", () => {
  const RHCOS = fileURLToPath(new URL("../fixtures/upstream/rhcos-installer-stream.json", import.meta.url));
  const streamText = () => readFileSync(RHCOS, "utf8");
  const configMap = (stream: string, name = "coreos-bootimages"): Json => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "openshift-machine-config-operator" },
    data: { releaseVersion: "4.16.0", stream },
  });
  async function withConfigMap(content: string) {
    const file = join(tempDir(), "cm.yaml");
    writeFileSync(file, content);
    const run = await spawnBootstream(["machinesets", "--configmap", file, "-f", ms("aws-machinesets.yaml")]);
    return { file, run };
  }

  it("attack: data.stream that is not JSON, or a stream with __proto__ -> exit 1 naming the file, data.stream and the place", async () => {
    const notJson = await withConfigMap(JSON.stringify(configMap("{not json")));
    assert.equal(notJson.run.code, 1, notJson.run.stderr);
    assert.match(
      notJson.run.stderr,
      /cm\.yaml: data\.stream: \/: expected a string key in object, found "n" at line 1 column 2/,
    );
    const proto = streamText().replace('"architectures": {', '"architectures": {"__proto__": {},');
    const protoRun = await withConfigMap(JSON.stringify(configMap(proto)));
    assert.equal(protoRun.run.code, 1, protoRun.run.stderr);
    assert.match(
      protoRun.run.stderr,
      /cm\.yaml: data\.stream: \/architectures\/__proto__: expected a key other than "__proto__"/,
    );
    const notStream = await withConfigMap(JSON.stringify(configMap('{"a": 1}')));
    assert.equal(notStream.run.code, 1, notStream.run.stderr);
    assert.match(notStream.run.stderr, /cm\.yaml: data\.stream: \/stream: expected a string/);
  });

  it("attack: two ConfigMaps (YAML documents or a List) -> exit 1 naming both, not the YAML library's advice; a List of one is read", async () => {
    const one = JSON.stringify(configMap(streamText()));
    const two = JSON.stringify(configMap(streamText(), "other"));
    for (const content of [
      `---\n${one}\n---\n${two}\n`,
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [JSON.parse(one), JSON.parse(two)] }),
    ]) {
      const { run } = await withConfigMap(content);
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /cm\.yaml: expected one ConfigMap \(kind: ConfigMap\), found 2: coreos-bootimages, other/,
      );
      assert.doesNotMatch(run.stderr, /parseAllDocuments/);
    }
    const list = await withConfigMap(
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [JSON.parse(one)] }),
    );
    assert.equal(list.run.code, 0, list.run.stderr);
    assert.match(
      list.run.stderr,
      /\(ConfigMap openshift-machine-config-operator\/coreos-bootimages\): 4 MachineSets: 2 current, 1 stale, 1 unknown/,
    );
    const none = await withConfigMap(text("aws-machinesets.yaml"));
    assert.equal(none.run.code, 1, none.run.stderr);
    assert.match(
      none.run.stderr,
      /cm\.yaml: expected one ConfigMap \(kind: ConfigMap\), found none \(kinds: List\)|cm\.yaml: expected one ConfigMap \(kind: ConfigMap\), found none \(kinds: MachineSet\)/,
    );
  });

  it("attack: data.stream over the 1 MiB a ConfigMap may hold -> TOO_LARGE (exit 2): no cluster could have carried it", async () => {
    const padded = streamText().replace(
      '"stream": "rhcos-4.16"',
      `"stream": "rhcos-4.16", "padding": "${"x".repeat(1024 * 1024)}"`,
    );
    const { run } = await withConfigMap(JSON.stringify(configMap(padded)));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /cm\.yaml: data\.stream is .*more than the 1 MiB a ConfigMap may hold/);
  });
});
