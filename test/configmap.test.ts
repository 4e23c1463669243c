/**
 * The coreos-bootimages ConfigMap. kubectl's client-side dry run needs an API server for
 * discovery, so the emitted object is checked against the Kubernetes rules for a
 * ConfigMap here instead (names, annotation keys, data keys, the 1 MiB limit).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { runBootstream } from "./helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "./helpers/fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests read deep JSON.
type Json = Record<string, any>;

const dns1123Subdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
const dns1123Label = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const qualifiedName = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
  );
/** What the API server checks of a core/v1 ConfigMap (apimachinery validation). */
const configMapSchema = z.strictObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("ConfigMap"),
  metadata: z.strictObject({
    name: dns1123Subdomain,
    namespace: dns1123Label,
    annotations: z.record(qualifiedName, z.string()),
  }),
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/), z.string()),
});

describe("bootstream configmap", () => {
  it("emits the ConfigMap of the upstream stub, with the stream under data.stream", async () => {
    const run = await runBootstream(["configmap", fixturePath("rhcos-installer-stream.json")]);
    assert.equal(run.code, 0, run.stderr);
    const cm = parseYaml(run.stdout) as Json;
    configMapSchema.parse(cm);
    const stub = fixtureJson<Json>("rhcos-bootimages-configmap-stub.json");
    assert.deepEqual(cm.metadata, stub.metadata);
    assert.equal(cm.data.releaseVersion, stub.data.releaseVersion);
    assert.equal(cm.data.stream, fixtureText("rhcos-installer-stream.json"));
    assert.match(run.stdout, /^ {2}stream: \|\n {4}\{\n/m, "a literal block, readable in kubectl output");
  });

  it("takes --release-version, --namespace and --name", async () => {
    const run = await runBootstream([
      "configmap",
      fixturePath("fcos-stable-stream.json"),
      "--release-version",
      "4.16.3",
      "--namespace",
      "my-ns",
      "--name",
      "boot-images",
    ]);
    const cm = configMapSchema.parse(parseYaml(run.stdout));
    assert.equal(cm.metadata.namespace, "my-ns");
    assert.equal(cm.metadata.name, "boot-images");
    assert.equal(cm.data.releaseVersion, "4.16.3");
  });

  it("gives the stream back byte for byte, from YAML and from kubectl's JSON", async () => {
    for (const name of [
      "rhcos-installer-stream.json",
      "fcos-stable-stream.json",
      "fcos-stable-stream-2020.json",
    ]) {
      const dir = tempDir();
      const yaml = join(dir, "cm.yaml");
      await runBootstream(["configmap", fixturePath(name), "-o", yaml]);
      const extracted = await runBootstream(["configmap", "extract", yaml]);
      assert.equal(extracted.code, 0, extracted.stderr);
      assert.equal(extracted.stdout, fixtureText(name), name);
      const json = join(dir, "cm.json");
      writeFileSync(
        json,
        JSON.stringify(parseYaml((await runBootstream(["configmap", fixturePath(name)])).stdout)),
      );
      assert.equal((await runBootstream(["configmap", "extract", json])).stdout, fixtureText(name));
    }
  });

  it("stores the canonical form: a stream missing its final newline comes back canonical", async () => {
    const run = await runBootstream(["configmap", fixturePath("rhcos-4.8-stream.json")]);
    const back = await runBootstream(["configmap", "extract", "-"], { stdin: run.stdout });
    assert.equal(back.stdout, `${fixtureText("rhcos-4.8-stream.json")}\n`);
  });

  it("refuses a ConfigMap over the 1 MiB Kubernetes limit", async () => {
    const big = fixtureJson<Json>("fcos-stable-stream.json");
    const regions = big.architectures.x86_64.images.aws.regions;
    for (let i = 0; i < 12_000; i++)
      regions[`zz-region-${i}`] = {
        release: "44.20260707.3.1",
        image: `ami-${i.toString(16).padStart(17, "0")}`,
      };
    const file = join(tempDir(), "big.json");
    writeFileSync(file, JSON.stringify(big, null, 4));
    const run = await runBootstream(["configmap", file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /the ConfigMap would be \d+ bytes; Kubernetes allows at most 1048576 \(1 MiB\)/);
  });

  it("rejects a document that is not a stream ConfigMap", async () => {
    const run = await runBootstream([
      "configmap",
      "extract",
      fixturePath("rhcos-bootimages-configmap-stub.json"),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the ConfigMap has no data.stream string/);
  });

  it("extract reads the ConfigMap as oc prints it in a List, byte for byte, and names the file otherwise", async () => {
    const made = await runBootstream(["configmap", fixturePath("rhcos-installer-stream.json")]);
    const dir = tempDir();
    const list = join(dir, "list.yaml");
    const indented = made.stdout.replace(/^/gm, "    ").replace(/^ {4}apiVersion/, "  - apiVersion");
    writeFileSync(list, `apiVersion: v1\nkind: List\nitems:\n${indented}`);
    const extracted = await runBootstream(["configmap", "extract", list]);
    assert.equal(extracted.code, 0, extracted.stderr);
    assert.equal(extracted.stdout, fixtureText("rhcos-installer-stream.json"));
    // Two ConfigMaps: which one is meant cannot be told.
    const two = join(dir, "two.yaml");
    writeFileSync(two, `${made.stdout}---\n${made.stdout.replace("name: coreos-bootimages", "name: other")}`);
    const run = await runBootstream(["configmap", "extract", two]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /two\.yaml: expected one ConfigMap \(kind: ConfigMap\), found 2: coreos-bootimages, other/,
    );
  });

  it("extract refuses a data.stream over 1 MiB and an alias bomb, naming the file", async () => {
    const dir = tempDir();
    const big = join(dir, "big.yaml");
    writeFileSync(
      big,
      `kind: ConfigMap\nmetadata: {name: coreos-bootimages}\ndata:\n  stream: "${"x".repeat(1024 * 1024 + 1)}"\n`,
    );
    const tooLarge = await runBootstream(["configmap", "extract", big]);
    assert.equal(tooLarge.code, 2, tooLarge.stderr);
    assert.match(tooLarge.stderr, /big\.yaml: data\.stream is 1048577 bytes, more than the 1 MiB/);
    const bomb = join(dir, "bomb.yaml");
    const levels = Array.from(
      { length: 12 },
      (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(",")}]`,
    );
    writeFileSync(bomb, `kind: ConfigMap\nl0: &l0 "lol"\n${levels.join("\n")}\ndata: {stream: "{}"}\n`);
    const run = await runBootstream(["configmap", "extract", bomb]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /bomb\.yaml/);
  });
});
