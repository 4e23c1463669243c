import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { BootstreamError } from "../src/errors.ts";
import { parseDocument } from "../src/index.ts";
import { lintContent } from "../src/lint/index.ts";
import { DEFAULT_POLICY } from "../src/lint/policy.ts";
import { publishStream } from "../src/publish/publish.ts";
import { FsStore } from "../src/storage/fs.ts";
import { runBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir, writeJson } from "./helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const dir = tempDir();
const STABLE = fixturePath("fcos-stable-stream.json");

const write = (name: string, value: unknown) => writeJson(dir, name, value);

function policy(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("bootstream lint", () => {
  it("passes the published FCOS and RHCOS streams with the default policy", async () => {
    for (const name of ["fcos-stable-stream.json", "rhcos-installer-stream.json"]) {
      const run = await runBootstream(["lint", fixturePath(name)]);
      assert.equal(run.code, 0, run.stdout);
      assert.equal(run.stderr, "no violations\n");
    }
  });

  it("reports schema errors as the schema rule", async () => {
    const s = fixtureJson<Json>("fcos-stable-stream.json");
    s.architectures.x86_64.artifacts.metal.formats.iso.disk.sha256 = "nope";
    const run = await runBootstream(["lint", write("schema.json", s)]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout,
      '/architectures/x86_64/artifacts/metal/formats/iso/disk/sha256: schema: expected a sha256 digest of 64 lowercase hex characters, found "nope"\n',
    );
  });

  it("reports a non-canonical file and mixed releases in one arch (the hand-edited upstream fixture)", async () => {
    const run = await runBootstream(["lint", fixturePath("smg-fcos-stream.json")]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      "/: canonical: not in canonical form (differs from canonical form at line 94); run bootstream fmt",
      "/architectures/x86_64: mixed-releases: x86_64 mixes releases 33.20201201.3.0, 33.20211201.3.0; a stream arch should come from one release",
    ]);
  });

  it("refuses a downgrade and silently dropped architectures, platforms and regions versus --previous", async () => {
    const next = fixtureJson<Json>("fcos-stable-stream.json");
    delete next.architectures.ppc64le;
    delete next.architectures.x86_64.artifacts.vultr;
    delete next.architectures.x86_64.images.aws.regions["eu-south-2"];
    for (const p of Object.values(next.architectures.aarch64.artifacts) as Json[])
      p.release = "44.20260622.3.0";
    for (const r of Object.values(next.architectures.aarch64.images.aws.regions) as Json[])
      r.release = "44.20260622.3.0";
    next.architectures.aarch64.images.gcp.release = "44.20260622.3.0";
    next.metadata["last-modified"] = "2026-07-01T00:00:00Z";
    const file = write(
      "bump.json",
      JSON.parse(
        JSON.stringify(next).replaceAll(
          "/44.20260707.3.1/aarch64/fedora-coreos-44.20260707.3.1-",
          "/44.20260622.3.0/aarch64/fedora-coreos-44.20260622.3.0-",
        ),
      ),
    );
    const run = await runBootstream(["lint", "--previous", STABLE, file]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trimEnd().split("\n"), [
      "/metadata/last-modified: last-modified-regress: 2026-07-01T00:00:00Z is older than the previous 2026-07-21T14:07:12Z",
      "/architectures/aarch64/artifacts: no-downgrade: aarch64 goes back from 44.20260707.3.1 to 44.20260622.3.0 (allow it with allow-downgrade)",
      "/architectures/ppc64le: no-dropped-architecture: architecture ppc64le was in the previous stream and is gone (allow it with allow-removal)",
      "/architectures/x86_64/artifacts/vultr: no-dropped-platform: x86_64 platform vultr was in the previous stream and is gone (allow it with allow-removal)",
      "/architectures/x86_64/images/aws/regions/eu-south-2: no-dropped-region: x86_64 aws region eu-south-2 was in the previous stream and is gone (allow it with allow-removal)",
    ]);
    const allowed = policy(
      "allow.yaml",
      `allow-downgrade: [aarch64]
allow-removal:
  - /architectures/ppc64le
  - /architectures/x86_64/artifacts/vultr
  - /architectures/x86_64/images/aws/regions/eu-south-2
disable: [last-modified-regress]
`,
    );
    const ok = await runBootstream(["lint", "--policy", allowed, "--previous", STABLE, file]);
    assert.equal(ok.code, 0, ok.stdout);
  });

  it("demands signatures, https and allowed hosts when the policy says so", async () => {
    const strict = policy(
      "strict.yaml",
      "require-signatures: true\nallowed-hosts: [builds.coreos.fedoraproject.org]\n",
    );
    const rhcos = await runBootstream([
      "lint",
      "--policy",
      strict,
      fixturePath("rhcos-installer-stream.json"),
      "--json",
    ]);
    assert.equal(rhcos.code, 1);
    const violations = JSON.parse(rhcos.stdout) as { rule: string; pointer: string }[];
    assert.ok(
      violations.some(
        (v) =>
          v.rule === "signature-required" &&
          v.pointer === "/architectures/x86_64/artifacts/metal/formats/iso/disk",
      ),
    );
    assert.ok(violations.some((v) => v.rule === "allowed-hosts"));
    const s = fixtureJson<Json>("fcos-stable-stream.json");
    const iso = s.architectures.x86_64.artifacts.metal.formats.iso.disk;
    iso.location = iso.location.replace("https://", "http://");
    const run = await runBootstream(["lint", write("http.json", s)]);
    assert.equal(
      run.stdout,
      "/architectures/x86_64/artifacts/metal/formats/iso/disk/location: https-only: expected an https URL, found http://builds.coreos.fedoraproject.org\n",
    );
  });

  it("reports an artifact whose URL names another release than its platform", async () => {
    const s = fixtureJson<Json>("fcos-stable-stream.json");
    s.architectures.s390x.artifacts.qemu.formats["qcow2.xz"].disk.location =
      s.architectures.s390x.artifacts.qemu.formats["qcow2.xz"].disk.location.replaceAll(
        "44.20260707.3.1",
        "44.20260622.3.0",
      );
    const run = await runBootstream(["lint", write("rel.json", s)]);
    assert.equal(
      run.stdout,
      "/architectures/s390x/artifacts/qemu/formats/qcow2.xz/disk/location: artifact-release: artifact URL does not name the platform's release 44.20260707.3.1\n",
    );
  });

  it("refuses a bad policy file as a usage error naming the key", async () => {
    const bad = policy("bad.yaml", "requires-signatures: true\n");
    const run = await runBootstream(["lint", "--policy", bad, STABLE]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.yaml: \/: Unrecognized key: "requires-signatures"/);
  });

  it("reads the new stream from standard input", async () => {
    const run = await runBootstream(["lint", "--previous", STABLE, "-"], {
      stdin: fixtureText("fcos-stable-stream.json"),
    });
    assert.equal(run.code, 0, run.stdout);
  });
});

describe("lint on publish", () => {
  // The source text is what is checked: publish stores the canonical text, so comparing that
  // with itself (as it once did) could never find anything.
  const { stream, metadata, architectures } = fixtureJson<Json>("fcos-stable-stream.json");
  const reordered = `${JSON.stringify({ architectures, metadata, stream }, null, 4)}\n`;

  it("refuses a stream that is not in canonical form, naming the canonical rule, and writes nothing", async () => {
    const root = tempDir("bootstream-lint-publish-");
    await assert.rejects(publishStream(new FsStore(root), reordered), (error: BootstreamError) => {
      assert.equal(error.code, "POLICY_VIOLATION");
      assert.deepEqual(
        error.issues.map((i) => i.message),
        ["canonical: not in canonical form (differs from canonical form at line 2); run bootstream fmt"],
      );
      return true;
    });
    assert.deepEqual(readdirSync(root), []);
  });

  it("publishes the canonical text when the canonical rule is disabled", async () => {
    const store = new FsStore(tempDir("bootstream-lint-publish-"));
    const result = await publishStream(store, reordered, {
      policy: { ...DEFAULT_POLICY, disabled: ["canonical"] },
    });
    const stored = await store.get("streams/stable.json");
    assert.equal(Buffer.from(stored?.body ?? []).toString("utf8"), parseDocument(reordered).canonical);
    assert.equal(result.pointerMoved, true);
  });

  it("takes a parsed document as it is: its source text is linted, its canonical text stored", async () => {
    const store = new FsStore(tempDir("bootstream-lint-publish-"));
    const doc = parseDocument(fixtureText("fcos-stable-stream.json"));
    assert.deepEqual(lintContent({ content: doc }), []);
    assert.deepEqual(
      lintContent({ content: parseDocument(reordered) }).map((v) => v.rule),
      ["canonical"],
    );
    await publishStream(store, doc);
    const stored = await store.get("streams/stable.json");
    assert.equal(Buffer.from(stored?.body ?? []).toString("utf8"), doc.text);
  });
});
