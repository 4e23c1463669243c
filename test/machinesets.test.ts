/**
 * `bootstream machinesets`: MachineSets in the shapes the installer writes (see
 * test/fixtures/machinesets/SOURCES.md) against the installer's own RHCOS 4.16 stream.
 * Patches are checked by applying them (RFC 7386, written here) to the input objects and
 * comparing with what -o writes; the `oc` lines are run through a real shell.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { type CliRun, runBootstream, spawnBootstream } from "./helpers/cli.ts";
import { fixturePath, tempDir } from "./helpers/fixtures.ts";
import { testKey } from "./helpers/keys.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep JSON.
type Json = Record<string, any>;

const DIR = fileURLToPath(new URL("./fixtures/machinesets/", import.meta.url));
const ms = (name: string) => join(DIR, name);
const text = (name: string) => readFileSync(ms(name), "utf8");
/** rhcos-installer-stream.json with the installer's marketplace file merged in. */
const STREAM = ms("rhcos-4.16-marketplace-stream.json");
/** The same stream without marketplace images. */
const PLAIN_STREAM = fixturePath("rhcos-installer-stream.json");

const AWS_OLD = "ami-00434fdc5b33448cc"; // rhcos-4.8-stream.json, x86_64 us-east-1
const AWS_X86 = "ami-05483066c3caaccf5"; // rhcos-installer-stream.json, x86_64 us-east-1
const AWS_ARM = "ami-04859c888566a2c2f"; // rhcos-installer-stream.json, aarch64 us-east-1
const GCP = "projects/rhcos-cloud/global/images/";

async function check(args: string[], options: { stdin?: string } = {}): Promise<Json[]> {
  const run = await runBootstream(["machinesets", ...args, "--json"], options);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).machineSets as Json[];
}

const byName = (reports: Json[]) => new Map(reports.map((r) => [r.name as string, r]));
const summary = (reports: Json[]) => reports.map((r) => [r.name, r.platform, r.arch, r.status]);

/** RFC 7386 MergePatch, as its section 2 writes it. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Json =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Every object of a List, multi-document YAML or JSON file, as plain data. */
function objectsOf(source: string): Json[] {
  return parseAllDocuments(source)
    .map((d) => d.toJS() as Json | null)
    .filter((v): v is Json => v !== null)
    .flatMap((v) => (Array.isArray(v.items) ? (v.items as Json[]) : [v]));
}

/** The arguments a POSIX shell makes of an `oc` line (oc replaced by a function printing them). */
function shellArgs(line: string): string[] {
  const out = execFileSync("/bin/sh", ["-c", `oc() { printf '%s\\0' "$@"; }\n${line}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

function ocLines(run: CliRun): string[] {
  return run.stdout.split("\n").filter((l) => l.startsWith("oc patch "));
}

describe("machinesets: reading what oc prints", () => {
  it("a List, multi-document YAML (with comments) and JSON give the same findings", async () => {
    const list = await check([STREAM, "-f", ms("aws-machinesets.yaml")]);
    const docs = await check([STREAM, "-f", ms("aws-machinesets-docs.yaml")]);
    assert.deepEqual(
      docs.map(({ where: _w, ...r }) => r),
      list.map(({ where: _w, ...r }) => r),
    );
    assert.deepEqual(
      list.map((r) => r.where),
      ["/items/0", "/items/1", "/items/2", "/items/3"],
    );
    assert.deepEqual(
      docs.map((r) => r.where),
      ["document 1", "document 2", "document 3", "document 4"],
    );
    const json = await check([STREAM, "-f", ms("gcp-machinesets.json")]);
    assert.equal(json.length, 4);
  });

  it("reads MachineSets from standard input", async () => {
    const reports = await check([STREAM, "-f", "-"], { stdin: text("aws-machinesets.yaml") });
    assert.equal(reports.length, 4);
  });
});

describe("machinesets: AWS", () => {
  it("compares ami.id with the stream's AMI for placement.region and architecture", async () => {
    const reports = await check([STREAM, "-f", ms("aws-machinesets.yaml")]);
    assert.deepEqual(summary(reports), [
      ["ci-ln-x4h2b8t-76ef8-worker-us-east-1a", "aws", "x86_64", "current"],
      ["ci-ln-x4h2b8t-76ef8-worker-us-east-1b", "aws", "x86_64", "stale"],
      ["ci-ln-x4h2b8t-76ef8-worker-arm-us-east-1c", "aws", "aarch64", "current"],
      ["ci-ln-x4h2b8t-76ef8-edge-us-east-1-nyc-1a", "aws", "x86_64", "unknown"],
    ]);
    const stale = reports[1] as Json;
    assert.equal(stale.current, AWS_OLD);
    assert.equal(stale.wanted, AWS_X86);
    assert.deepEqual(stale.patch, {
      spec: { template: { spec: { providerSpec: { value: { ami: { id: AWS_X86 } } } } } },
    });
    assert.equal(reports[2]?.wanted, AWS_ARM);
    assert.equal(reports[2]?.archFrom, "annotation");
    // The edge MachineSet names its AMI by tag filter (copied at install time): left alone.
    assert.equal(reports[3]?.archFrom, "default");
    assert.equal(reports[3]?.patch, undefined);
    assert.match(reports[3]?.reason, /filters/);
  });

  it("uses --default-arch only for MachineSets without the arch annotation", async () => {
    const reports = byName(
      await check([STREAM, "-f", ms("aws-machinesets.yaml"), "--default-arch", "aarch64"]),
    );
    assert.equal(reports.get("ci-ln-x4h2b8t-76ef8-edge-us-east-1-nyc-1a")?.arch, "aarch64");
    assert.equal(reports.get("ci-ln-x4h2b8t-76ef8-worker-us-east-1a")?.arch, "x86_64");
    assert.equal(reports.get("ci-ln-x4h2b8t-76ef8-worker-us-east-1a")?.status, "current");
    // The Kubernetes spelling the annotation uses means the same.
    const arm64 = byName(await check([STREAM, "-f", ms("aws-machinesets.yaml"), "--default-arch", "arm64"]));
    assert.equal(arm64.get("ci-ln-x4h2b8t-76ef8-edge-us-east-1-nyc-1a")?.arch, "aarch64");
  });

  it("says when the AMI a MachineSet boots is the stream's AMI of another architecture", async () => {
    const wrongArch = text("aws-machinesets.yaml").replace(`id: ${AWS_OLD}`, `id: ${AWS_ARM}`);
    const reports = await check([STREAM, "-f", "-"], { stdin: wrongArch });
    assert.equal(reports[1]?.status, "stale");
    assert.match(reports[1]?.notes.join(" "), /aarch64 us-east-1/);
  });

  it("reports a region or architecture the stream lacks as unknown", async () => {
    const input = text("aws-machinesets.yaml")
      .replace("region: us-east-1\n", "region: mars-north-1\n")
      .replace("kubernetes.io/arch=arm64", "kubernetes.io/arch=s390x");
    const reports = await check([STREAM, "-f", "-"], { stdin: input });
    assert.equal(reports[0]?.status, "unknown");
    assert.match(reports[0]?.reason, /mars-north-1/);
    assert.equal(reports[2]?.arch, "s390x");
    assert.equal(reports[2]?.status, "unknown");
  });
});

describe("machinesets: GCP", () => {
  it("wants projects/<project>/global/images/<name> on the boot disks; leaves custom images alone", async () => {
    const reports = await check([STREAM, "-f", ms("gcp-machinesets.json")]);
    assert.deepEqual(
      reports.map((r) => [r.arch, r.status, r.wanted]),
      [
        ["x86_64", "current", `${GCP}rhcos-416-94-202405291527-0-gcp-x86-64`],
        ["x86_64", "stale", `${GCP}rhcos-416-94-202405291527-0-gcp-x86-64`],
        ["aarch64", "stale", `${GCP}rhcos-416-94-202405291527-0-gcp-aarch64`],
        ["x86_64", "unknown", `${GCP}rhcos-416-94-202405291527-0-gcp-x86-64`],
      ],
    );
    assert.match(reports[3]?.reason, /not from project rhcos-cloud/);
    // A merge patch replaces arrays whole: it carries every disk, only the image changed.
    const disks = reports[1]?.patch.spec.template.spec.providerSpec.value.disks;
    assert.deepEqual(disks, [
      {
        autoDelete: true,
        boot: true,
        image: `${GCP}rhcos-416-94-202405291527-0-gcp-x86-64`,
        labels: null,
        sizeGb: 128,
        type: "pd-ssd",
      },
    ]);
  });
});

describe("machinesets: Azure", () => {
  it("picks the marketplace variant and Hyper-V generation as the operator does", async () => {
    const reports = await check([STREAM, "-f", ms("azure-machinesets.yaml")]);
    assert.deepEqual(
      reports.map((r) => [r.arch, r.status, r.wanted ?? null]),
      [
        ["x86_64", "stale", "azureopenshift:aro4:417-v2:417.94.20240701"], // gallery image -gen2 -> Gen2
        ["x86_64", "stale", "azureopenshift:aro4:aro_417:417.94.20240701"], // sku without v2 -> Gen1
        ["aarch64", "current", "azureopenshift:aro4:417-arm:417.94.20240701"],
        ["x86_64", "not-managed", null], // TrustedLaunch
      ],
    );
    assert.deepEqual(reports[0]?.patch.spec.template.spec.providerSpec.value.image, {
      offer: "aro4",
      publisher: "azureopenshift",
      resourceID: "",
      sku: "417-v2",
      type: "MarketplaceNoPlan",
      version: "417.94.20240701",
    });
    assert.deepEqual(reports[1]?.patch.spec.template.spec.providerSpec.value.image, {
      sku: "aro_417",
      version: "417.94.20240701",
    });
    assert.match(reports[3]?.reason, /TrustedLaunch/);
  });

  it("without marketplace images in the stream, names the azure-disk VHD and patches nothing", async () => {
    const reports = await check([PLAIN_STREAM, "-f", ms("azure-machinesets.yaml")]);
    assert.equal(reports[0]?.status, "unknown");
    assert.equal(
      reports[0]?.wanted,
      "https://rhcos.blob.core.windows.net/imagebucket/rhcos-416.94.202405291527-0-azure.x86_64.vhd",
    );
    assert.ok(reports.every((r) => r.patch === undefined));
  });

  it("flags the spec 2 stub Ignition config of the Secret in the same List, and does not convert it", async () => {
    const found = await check([STREAM, "-f", ms("azure-machinesets.yaml")]);
    assert.deepEqual(found[0]?.userData, { secret: "worker-user-data", ignitionVersion: "2.2.0" });
    assert.match(found[0]?.notes.join(" "), /spec 2\.2\.0 stub/);
    const dir = tempDir();
    const out = join(dir, "out.yaml");
    await runBootstream(["machinesets", STREAM, "-f", ms("azure-machinesets.yaml"), "-o", out]);
    const secret = objectsOf(readFileSync(out, "utf8")).find((o) => o.kind === "Secret");
    const original = objectsOf(text("azure-machinesets.yaml")).find((o) => o.kind === "Secret");
    assert.deepEqual(secret, original);
  });

  it("reads a spec 3 stub from --user-data-secrets without a note, and notes a Secret that is missing", async () => {
    const reports = await check([
      STREAM,
      "-f",
      ms("aws-machinesets.yaml"),
      "--user-data-secrets",
      ms("user-data-secrets-spec3.yaml"),
    ]);
    assert.deepEqual(reports[0]?.userData, { secret: "worker-user-data", ignitionVersion: "3.2.0" });
    assert.deepEqual(reports[0]?.notes, []);
    const other = await check([
      STREAM,
      "-f",
      ms("gcp-machinesets.json"),
      "--user-data-secrets",
      ms("aws-machinesets.yaml"),
    ]);
    assert.match(other[0]?.notes.join(" "), /not among the Secrets given/);
  });
});

describe("machinesets: platforms stream metadata does not manage", () => {
  it("reports vSphere, OpenStack and bare metal as not-managed, each with its reason", async () => {
    const reports = await check([STREAM, "-f", ms("other-machinesets.yaml")]);
    assert.deepEqual(
      reports.map((r) => [r.platform, r.status, r.current ?? null]),
      [
        ["vsphere", "not-managed", "ci-ln-vq2p8kz-5c2a1-rhcos-generated-region-generated-zone"],
        ["openstack", "not-managed", "ci-ln-vq2p8kz-5c2a1-rhcos"],
        ["baremetal", "not-managed", null],
      ],
    );
    assert.match(reports[0]?.reason, /vCenter/);
    assert.match(reports[1]?.reason, /Glance/);
    assert.match(reports[2]?.reason, /Ironic/);
  });
});

describe("machinesets: --check, --patch and -o", () => {
  it("--check exits 1 with stale MachineSets and 0 once -o has rewritten them (real process)", async () => {
    const dir = tempDir();
    for (const name of ["aws-machinesets.yaml", "gcp-machinesets.json", "azure-machinesets.yaml"]) {
      const stale = await spawnBootstream(["machinesets", STREAM, "-f", ms(name), "--check"]);
      assert.equal(stale.code, 1, stale.stderr);
      assert.match(stale.stdout, /^NAME +PLATFORM +ARCH +CURRENT +WANTED +STATUS/);
      assert.match(stale.stderr, /stale/);
      const out = join(dir, name);
      const write = await spawnBootstream(["machinesets", STREAM, "-f", ms(name), "-o", out]);
      assert.equal(write.code, 0, write.stderr);
      const again = await spawnBootstream(["machinesets", STREAM, "-f", out, "--check"]);
      assert.equal(again.code, 0, again.stdout);
      assert.doesNotMatch(again.stdout, / stale /);
    }
    const none = await spawnBootstream([
      "machinesets",
      STREAM,
      "-f",
      ms("other-machinesets.yaml"),
      "--check",
    ]);
    assert.equal(none.code, 0);
  });

  for (const name of ["aws-machinesets-docs.yaml", "gcp-machinesets.json", "azure-machinesets.yaml"]) {
    it(`--patch on ${name}: each oc line's merge patch turns the input object into the -o output`, async () => {
      const patched = await runBootstream(["machinesets", STREAM, "-f", ms(name), "--patch"]);
      assert.equal(patched.code, 0, patched.stderr);
      const dir = tempDir();
      const out = join(dir, "out");
      await runBootstream(["machinesets", STREAM, "-f", ms(name), "-o", out]);
      const before = new Map(objectsOf(text(name)).map((o) => [o.metadata.name, o]));
      const after = new Map(objectsOf(readFileSync(out, "utf8")).map((o) => [o.metadata.name, o]));
      const lines = ocLines(patched);
      assert.ok(lines.length >= 1);
      const touched = new Set<string>();
      for (const line of lines) {
        const args = shellArgs(line);
        assert.deepEqual(args.slice(0, 2), ["patch", "machineset"]);
        assert.deepEqual(args.slice(3, 7), ["-n", "openshift-machine-api", "--type", "merge"]);
        assert.equal(args[7], "-p");
        const name = args[2] as string;
        touched.add(name);
        assert.deepEqual(mergePatch(before.get(name), JSON.parse(args[8] as string)), after.get(name));
      }
      // Every other object is written back unchanged.
      for (const [name, object] of before) if (!touched.has(name)) assert.deepEqual(after.get(name), object);
    });
  }

  it("-o changes only the image bytes: YAML comments, separators and order stay, JSON layout stays", async () => {
    const dir = tempDir();
    const cases: [string, string, string][] = [
      ["aws-machinesets-docs.yaml", `id: ${AWS_OLD}`, `id: ${AWS_X86}`],
      ["aws-machinesets.yaml", `id: ${AWS_OLD}`, `id: ${AWS_X86}`],
      ["gcp-machinesets.json", "rhcos-48-83-202102230316-0-gcp-", "rhcos-416-94-202405291527-0-gcp-"],
    ];
    for (const [name, from, to] of cases) {
      const out = join(dir, name);
      const run = await runBootstream(["machinesets", STREAM, "-f", ms(name), "-o", out]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(readFileSync(out, "utf8"), text(name).replaceAll(from, to), name);
    }
    // Azure: the gallery MachineSet's image mapping gains `type`, in oc's sorted place.
    const out = join(dir, "azure.yaml");
    await runBootstream(["machinesets", STREAM, "-f", ms("azure-machinesets.yaml"), "-o", out]);
    const pad = " ".repeat(14);
    const gallery =
      /offer: ""\n *publisher: ""\n *resourceID: \/resourceGroups\S+\n *sku: ""\n *version: ""\n/;
    const expected = text("azure-machinesets.yaml")
      .replace(
        gallery,
        `offer: aro4\n${pad}publisher: azureopenshift\n${pad}resourceID: ""\n${pad}sku: 417-v2\n${pad}type: MarketplaceNoPlan\n${pad}version: 417.94.20240701\n`,
      )
      .replace("sku: aro_416", "sku: aro_417")
      .replace("version: 416.94.20240523", "version: 417.94.20240701");
    assert.equal(readFileSync(out, "utf8"), expected);
  });

  it("-o - writes the document to stdout and the findings to stderr", async () => {
    const run = await spawnBootstream(["machinesets", STREAM, "-f", ms("aws-machinesets.yaml"), "-o", "-"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, text("aws-machinesets.yaml").replace(`id: ${AWS_OLD}`, `id: ${AWS_X86}`));
    assert.match(run.stderr, /^NAME +PLATFORM/);
  });
});

describe("machinesets: --configmap", () => {
  it("takes the stream from the coreos-bootimages ConfigMap", async () => {
    const dir = tempDir();
    const configMap = join(dir, "coreos-bootimages.yaml");
    const made = await runBootstream(["configmap", STREAM, "-o", configMap]);
    assert.equal(made.code, 0, made.stderr);
    const fromConfigMap = await check(["--configmap", configMap, "-f", ms("gcp-machinesets.json")]);
    const fromStream = await check([STREAM, "-f", ms("gcp-machinesets.json")]);
    assert.deepEqual(fromConfigMap, fromStream);
  });

  it("refuses both SOURCE and --configmap, or neither (exit 2)", async () => {
    const both = await spawnBootstream([
      "machinesets",
      STREAM,
      "--configmap",
      STREAM,
      "-f",
      ms("aws-machinesets.yaml"),
    ]);
    assert.equal(both.code, 2);
    const neither = await spawnBootstream(["machinesets", "-f", ms("aws-machinesets.yaml")]);
    assert.equal(neither.code, 2);
    const twoStdin = await spawnBootstream(["machinesets", "-", "-f", "-"]);
    assert.equal(twoStdin.code, 2);
  });
});

describe("machinesets: hostile input (real process)", () => {
  it("refuses a YAML alias bomb quickly (exit 1, INVALID_DOCUMENT)", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(10)
          .fill(`*${"abcdefghi"[i - 1]}`)
          .join(", ")}]`,
      );
    const started = Date.now();
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "--json"], {
      stdin: `kind: MachineSet\n${levels.join("\n")}\n`,
    });
    assert.equal(run.code, 1);
    assert.equal(JSON.parse(run.stdout).error.code, "INVALID_DOCUMENT");
    assert.ok(Date.now() - started < 10_000);
  });

  it("refuses input over the size limit (exit 2, TOO_LARGE)", async () => {
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "--json"], {
      stdin: `# ${"x".repeat(5 * 1024 * 1024)}\n`,
    });
    assert.equal(run.code, 2);
    assert.equal(JSON.parse(run.stdout).error.code, "TOO_LARGE");
  });

  it("refuses duplicate keys and documents that are not objects (exit 1)", async () => {
    const dup = await spawnBootstream(["machinesets", STREAM, "-f", "-"], {
      stdin: "kind: MachineSet\nkind: List\n",
    });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^bootstream: .*-:/m);
    const scalar = await spawnBootstream(["machinesets", STREAM, "-f", "-"], { stdin: "just text\n" });
    assert.equal(scalar.code, 1);
    assert.doesNotMatch(scalar.stderr, /\n\s+at /); // no stack trace
  });

  it("escapes terminal controls in names and prints no oc line for a name that is not a Kubernetes name", async () => {
    const input = text("aws-machinesets.yaml").replace(
      "name: ci-ln-x4h2b8t-76ef8-worker-us-east-1b\n",
      "name: \"evil\\e]0;pwned\\a';rm -rf ~;'\"\n",
    );
    for (const mode of [[], ["--patch"]]) {
      const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", ...mode], { stdin: input });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(
        !(run.stdout + run.stderr).includes("\u001b") && !(run.stdout + run.stderr).includes("\u0007"),
      );
      assert.match(run.stdout, /evil\\u001b/);
      if (mode.length > 0) {
        assert.deepEqual(ocLines(run), []);
        assert.match(run.stdout, /no oc line/);
      }
    }
  });

  it("quotes a hostile image value in the oc line so the shell passes it as one argument", async () => {
    const dir = tempDir();
    const stream = JSON.parse(readFileSync(STREAM, "utf8"));
    const evil = "ami-0abc'$(touch pwned)'\"`id`\"";
    stream.architectures.x86_64.images.aws.regions["us-east-1"].image = evil;
    const path = join(dir, "evil-stream.json");
    writeFileSync(path, JSON.stringify(stream));
    const run = await spawnBootstream(["machinesets", path, "-f", ms("aws-machinesets.yaml"), "--patch"], {
      cwd: dir,
    });
    assert.equal(run.code, 0, run.stderr);
    const lines = ocLines(run);
    assert.equal(lines.length, 2); // both x86_64 us-east-1 MachineSets are stale now
    for (const line of lines) {
      const args = shellArgs(line);
      assert.equal(args.length, 9);
      assert.equal(JSON.parse(args[8] as string).spec.template.spec.providerSpec.value.ami.id, evil);
    }
  });

  it("reports odd types (image: 42, ami.id: 42) as unknown instead of failing", async () => {
    const aws = text("aws-machinesets.yaml").replace(`id: ${AWS_OLD}`, "id: 42");
    const reports = await check([STREAM, "-f", "-"], { stdin: aws });
    assert.equal(reports[1]?.status, "unknown");
    assert.equal(reports[1]?.reason, "ami.id is 42"); // a number: a string would be quoted
    const gcp = text("gcp-machinesets.json").replace(`"${GCP}rhcos-48-83-202102230316-0-gcp-x86-64"`, "42");
    const gcpReports = await check([STREAM, "-f", "-"], { stdin: gcp });
    assert.equal(gcpReports[1]?.status, "unknown");
    const azure = text("azure-machinesets.yaml").replace("sku: aro_416", "sku: 42");
    const azureReports = await check([STREAM, "-f", "-"], { stdin: azure });
    assert.equal(azureReports[1]?.status, "unknown");
    const noSpec = await check([STREAM, "-f", "-"], { stdin: "kind: MachineSet\nmetadata:\n  name: x\n" });
    assert.equal(noSpec[0]?.status, "unknown");
  });
});

/** The AWS fixture with the stale MachineSet's AMI replaced by `ami`. */
const awsWith = (ami: string) => text("aws-machinesets.yaml").replace(`id: ${AWS_OLD}`, `id: ${ami}`);
const OLD_STREAM = fixturePath("rhcos-4.8-stream.json"); // holds AWS_OLD for x86_64 us-east-1
const CUSTOM_AMI = "ami-0123456789abcdef0"; // in no stream

describe("machinesets --previous: AMIs the installer shipped against custom AMIs", () => {
  it("an AMI of a --previous stream is stale; the wanted one stays current", async () => {
    const reports = await check([STREAM, "--previous", OLD_STREAM, "-f", ms("aws-machinesets.yaml")]);
    assert.equal(reports[0]?.status, "current");
    assert.equal(reports[1]?.status, "stale");
    assert.equal(reports[1]?.current, AWS_OLD);
    assert.match(reports[1]?.notes.join(" "), /an AMI of a previous stream/);
  });

  it("an AMI of neither the stream nor a --previous stream is unknown (a custom AMI, left alone): no patch, -o writes it back unchanged", async () => {
    const reports = await check([STREAM, "--previous", OLD_STREAM, "-f", "-"], {
      stdin: awsWith(CUSTOM_AMI),
    });
    assert.equal(reports[1]?.status, "unknown");
    assert.match(reports[1]?.reason, /not an AMI of this stream or the previous ones: a custom AMI/);
    assert.equal(reports[1]?.patch, undefined);
    const run = await spawnBootstream(
      ["machinesets", STREAM, "--previous", OLD_STREAM, "-f", "-", "-o", "-"],
      {
        stdin: awsWith(CUSTOM_AMI),
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, awsWith(CUSTOM_AMI));
  });

  it("without --previous any other AMI counts as stale, with a note saying so", async () => {
    const reports = await check([STREAM, "-f", "-"], { stdin: awsWith(CUSTOM_AMI) });
    assert.equal(reports[1]?.status, "stale");
    assert.match(reports[1]?.notes.join(" "), /not in this stream.*AllowedAMIs.*--previous/);
  });

  it("--previous streams must be signed by --stream-key too, each by its own .asc (--stream-signature is SOURCE's)", async () => {
    const openpgp = await import("openpgp");
    const { privateKey, publicKey } = await testKey("machinesets test");
    const dir = tempDir();
    const key = join(dir, "key.asc");
    writeFileSync(key, publicKey.armor());
    const sign = async (from: string, to: string, signature: string) => {
      const bytes = readFileSync(from);
      writeFileSync(to, bytes);
      const message = await openpgp.createMessage({ binary: bytes });
      writeFileSync(signature, await openpgp.sign({ message, signingKeys: privateKey, detached: true }));
    };
    const [current, old] = [join(dir, "current.json"), join(dir, "old.json")];
    await sign(STREAM, current, join(dir, "current.sig"));
    const args = ["machinesets", current, "--stream-key", key, "--state-dir", dir];
    const withSig = [...args, "--stream-signature", join(dir, "current.sig"), "--previous", old, "-f", "-"];
    writeFileSync(old, readFileSync(OLD_STREAM)); // not signed yet
    const unsigned = await spawnBootstream(withSig, { stdin: awsWith(CUSTOM_AMI) });
    assert.equal(unsigned.code, 4, unsigned.stderr);
    await sign(OLD_STREAM, old, `${old}.asc`);
    const signed = await spawnBootstream([...withSig, "--json"], { stdin: awsWith(CUSTOM_AMI) });
    assert.equal(signed.code, 0, signed.stderr);
    assert.equal(JSON.parse(signed.stdout).machineSets[1].status, "unknown");
  });

  it("the library takes the known AMIs as checkMachineSets' knownAmis (streamAmis of the older streams)", async () => {
    const { checkMachineSets, parseKubeObjects, streamAmis } = await import(
      "../src/kube/machinesets/index.ts"
    );
    const { parseStream } = await import("../src/schema/parse.ts");
    const [stream, old] = [parseStream(readFileSync(STREAM)), parseStream(readFileSync(OLD_STREAM))];
    const knownAmis = streamAmis([old]);
    assert.ok(knownAmis.has(AWS_OLD));
    const objects = parseKubeObjects(awsWith(CUSTOM_AMI), "in.yaml");
    const statuses = (options: object) =>
      checkMachineSets(objects, stream, { defaultArch: "x86_64", ...options }).reports.map((r) => r.status);
    assert.equal(statuses({})[1], "stale");
    assert.equal(statuses({ knownAmis })[1], "unknown");
  });
});

describe("machinesets: flags that cannot work together", () => {
  it("--configmap with a trust flag is a usage error (exit 2): a ConfigMap carries no detached signature", async () => {
    const dir = tempDir();
    const configMap = join(dir, "coreos-bootimages.yaml");
    assert.equal((await runBootstream(["configmap", STREAM, "-o", configMap])).code, 0);
    const trust = [
      ["--stream-key", join(dir, "key.asc")],
      ["--stream-signature", join(dir, "stream.sig")],
      ["--max-age", "14d"],
      ["--state-dir", dir],
      ["--allow-rollback"],
    ];
    for (const flag of trust) {
      const run = await spawnBootstream([
        "machinesets",
        "--configmap",
        configMap,
        ...flag,
        "-f",
        ms("aws-machinesets.yaml"),
      ]);
      assert.equal(run.code, 2, `${flag[0]}: ${run.stderr}`);
      assert.match(
        run.stderr,
        new RegExp(`${flag[0]} cannot check --configmap: .*no detached signature.*as SOURCE`),
      );
      assert.equal(run.stdout, "");
    }
  });

  it("--default-arch takes Kubernetes and RPM names and the stream's architectures; anything else is exit 2 naming them", async () => {
    const run = await spawnBootstream([
      "machinesets",
      STREAM,
      "-f",
      ms("aws-machinesets.yaml"),
      "--default-arch",
      "x86-64",
      "--check",
    ]);
    assert.equal(run.code, 2, run.stdout);
    assert.match(
      run.stderr,
      /--default-arch "x86-64": expected .*amd64, arm64, ppc64le, s390x, x86_64, aarch64/,
    );
    for (const arch of ["amd64", "x86_64", "s390x"]) {
      const ok = await spawnBootstream([
        "machinesets",
        STREAM,
        "-f",
        ms("aws-machinesets.yaml"),
        "--default-arch",
        arch,
      ]);
      assert.equal(ok.code, 0, `${arch}: ${ok.stderr}`);
    }
  });

  it("--json with -o - is a usage error (exit 2): both would write to standard output", async () => {
    const run = await spawnBootstream([
      "machinesets",
      STREAM,
      "-f",
      ms("aws-machinesets.yaml"),
      "--json",
      "-o",
      "-",
    ]);
    assert.equal(run.code, 2);
    assert.equal(JSON.parse(run.stdout).error.code, "USAGE");
  });

  it("--help names --previous, the --configmap trust rule and the YAML 1.1 reading", async () => {
    const run = await runBootstream(["machinesets", "--help"]);
    assert.match(run.stdout, /--previous <source>/);
    assert.match(run.stdout, /without --previous any other AMI counts as stale/);
    assert.match(run.stdout, /ConfigMap carries no detached signature/);
    assert.match(run.stdout, /YAML 1\.1/);
  });
});

describe("machinesets: the user-data check needs the Secrets", () => {
  it("says on stderr that it did not check stub user-data when no Secrets were given; --json says it in a field", async () => {
    const plain = await spawnBootstream(["machinesets", STREAM, "-f", ms("aws-machinesets.yaml")]);
    assert.equal(plain.code, 0);
    assert.match(plain.stderr, /user-data not checked .*oc get machinesets,secrets .*--user-data-secrets/);
    const json = await spawnBootstream(["machinesets", STREAM, "-f", ms("aws-machinesets.yaml"), "--json"]);
    const found = JSON.parse(json.stdout);
    assert.equal(found.userDataChecked, false);
    assert.match(found.userDataNote, /--user-data-secrets/);
    assert.doesNotMatch(json.stderr, /user-data not checked/);
    // The Azure List carries its Secret: checked, nothing said.
    const azure = await spawnBootstream([
      "machinesets",
      STREAM,
      "-f",
      ms("azure-machinesets.yaml"),
      "--json",
    ]);
    assert.equal(JSON.parse(azure.stdout).userDataChecked, true);
    assert.doesNotMatch(azure.stderr, /user-data not checked/);
  });
});

describe("machinesets -o: comments, block scalars and YAML 1.1", () => {
  it("keeps a comment inside the Azure image mapping it gives a new key (the key is one inserted line)", async () => {
    const input = text("azure-machinesets.yaml").replace(
      '              sku: ""\n',
      '              # the gallery image the installer uploaded\n              sku: ""\n',
    );
    assert.notEqual(input, text("azure-machinesets.yaml"));
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "-o", "-"], { stdin: input });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /offer: aro4\n {14}publisher: azureopenshift\n {14}resourceID: ""\n {14}# the gallery image the installer uploaded\n {14}sku: 417-v2\n {14}type: MarketplaceNoPlan\n {14}version: 417\.94\.20240701\n/,
    );
  });

  it("refuses (exit 1, nothing written) where a comment lies inside a field it must write whole", async () => {
    // ami has both id and filters: the operator writes the id alone, so the mapping is written anew.
    const input = awsWith(AWS_OLD).replace(
      `ami:\n              id: ${AWS_OLD}\n`,
      `ami:\n              id: ${AWS_OLD}\n              # pinned by hand\n              arn: arn:aws:ec2:us-east-1::image/${AWS_OLD}\n`,
    );
    assert.notEqual(input, awsWith(AWS_OLD));
    const dir = tempDir();
    const [file, out] = [join(dir, "in.yaml"), join(dir, "out.yaml")];
    writeFileSync(file, input);
    const run = await spawnBootstream(["machinesets", STREAM, "-f", file, "-o", out]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /comment inside the image field would be lost.*nothing written/);
    assert.throws(() => readFileSync(out));
  });

  it("rewrites an AMI written as a block scalar (id: |-) as one plain scalar, keeping the line break after it", async () => {
    const input = awsWith(AWS_OLD).replace(`id: ${AWS_OLD}\n`, `id: |-\n                ${AWS_OLD}\n`);
    assert.notEqual(input, awsWith(AWS_OLD));
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "-o", "-"], { stdin: input });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, awsWith(AWS_X86));
  });

  it("reads `boot: yes` and `autoDelete: on` as true, as oc does (YAML 1.1), and keeps them as written", async () => {
    const list = JSON.parse(text("gcp-machinesets.json"));
    const yaml = (await import("yaml")).stringify(list, { lineWidth: 0 });
    const input = yaml.replaceAll("boot: true", "boot: yes").replaceAll("autoDelete: true", "autoDelete: on");
    assert.match(input, /boot: yes/);
    const reports = await check([STREAM, "-f", "-"], { stdin: input });
    assert.deepEqual(
      reports.map((r) => r.status),
      ["current", "stale", "stale", "unknown"],
    );
    const run = await spawnBootstream(["machinesets", STREAM, "-f", "-", "-o", "-"], { stdin: input });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      input.replaceAll("rhcos-48-83-202102230316-0-gcp-", "rhcos-416-94-202405291527-0-gcp-"),
    );
  });
});
