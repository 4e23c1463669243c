import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseDocument, parseStream } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { lintContent, lintDocument, lintStream, type Violation } from "./index.ts";
import { DEFAULT_POLICY, type Policy, policySchema, type RuleId } from "./policy.ts";

const upstream = parseStream(
  readFileSync(new URL("../../test/fixtures/upstream/fcos-stable-stream.json", import.meta.url), "utf8"),
);
const OLD = "44.20260623.3.0";

/**
 * The upstream stream cut to x86_64 with metal (raw.xz, pxe) and qemu, and aws (two
 * regions) and gcp images: small enough that each case changes one thing.
 */
function minimal(): Stream {
  const s = structuredClone(upstream);
  const x86 = s.architectures.x86_64;
  assert.ok(x86?.artifacts.metal && x86.artifacts.qemu && x86.images?.aws && x86.images.gcp);
  const metal = x86.artifacts.metal;
  metal.formats = Object.fromEntries(
    Object.entries(metal.formats).filter(([f]) => f === "raw.xz" || f === "pxe"),
  );
  x86.artifacts = { metal, qemu: x86.artifacts.qemu };
  const regions = x86.images.aws.regions ?? {};
  x86.images = {
    aws: {
      regions: { "us-east-1": regions["us-east-1"], "eu-west-1": regions["eu-west-1"] } as typeof regions,
    },
    gcp: x86.images.gcp,
  };
  s.architectures = { x86_64: x86 };
  return s;
}

/** Every upstream URL, rewritten to name an older release: a valid previous stream. */
function older(s: Stream): Stream {
  return JSON.parse(JSON.stringify(s).replaceAll("44.20260707.3.1", OLD)) as Stream;
}

function policy(p: Record<string, unknown> = {}): Policy {
  return policySchema.parse(p);
}

const rules = (vs: readonly Violation[]): RuleId[] => [...new Set(vs.map((v) => v.rule))].sort();
const x86 = (s: Stream) => {
  const a = s.architectures.x86_64;
  assert.ok(a);
  return a;
};
const metalRaw = (s: Stream) => {
  const disk = x86(s).artifacts.metal?.formats["raw.xz"]?.disk;
  assert.ok(disk);
  return disk;
};
const RAW = "/architectures/x86_64/artifacts/metal/formats/raw.xz/disk";

describe("single stream rules", () => {
  test("the minimal stream is clean under the default policy and against an older version of itself", () => {
    const s = minimal();
    assert.deepEqual(lintStream(s), []);
    assert.deepEqual(lintStream(s, { previous: older(s) }), []);
    assert.deepEqual(lintStream(s, { previous: s }), []);
  });

  test("signature-required fires only when the policy asks and a signature is missing", () => {
    const s = minimal();
    assert.deepEqual(lintStream(s, { policy: policy({ "require-signatures": true }) }), []);
    delete metalRaw(s).signature;
    assert.deepEqual(lintStream(s), []);
    assert.deepEqual(lintStream(s, { policy: policy({ "require-signatures": true }) }), [
      { pointer: RAW, rule: "signature-required", message: "artifact has no signature URL" },
    ]);
  });

  test("https-only fires on an http URL; off when the policy says https-only: false", () => {
    const s = minimal();
    metalRaw(s).location = metalRaw(s).location.replace("https:", "http:");
    assert.deepEqual(
      lintStream(s).map((v) => [v.rule, v.pointer]),
      [["https-only", `${RAW}/location`]],
    );
    assert.deepEqual(lintStream(s, { policy: policy({ "https-only": false }) }), []);
  });

  test("allowed-hosts fires on another host (signature too); wildcard and empty list allow it", () => {
    const s = minimal();
    const disk = metalRaw(s);
    disk.location = disk.location.replace("builds.coreos.fedoraproject.org", "mirror.example.com");
    disk.signature = (disk.signature ?? "").replace("builds.coreos.fedoraproject.org", "evil.example.org");
    assert.deepEqual(
      lintStream(s).map((v) => [v.rule, v.pointer]),
      [
        ["allowed-hosts", `${RAW}/location`],
        ["allowed-hosts", `${RAW}/signature`],
      ],
    );
    assert.deepEqual(
      lintStream(s, {
        policy: policy({
          "allowed-hosts": ["builds.coreos.fedoraproject.org", "*.example.com", "*.example.org"],
        }),
      }),
      [],
    );
    assert.deepEqual(lintStream(s, { policy: policy({ "allowed-hosts": [] }) }), []);
  });

  test("artifact-release fires when the URL does not name the platform's release", () => {
    const s = minimal();
    metalRaw(s).location = "https://builds.coreos.fedoraproject.org/prod/latest/disk.raw.xz";
    assert.deepEqual(
      lintStream(s).map((v) => [v.rule, v.pointer]),
      [["artifact-release", `${RAW}/location`]],
    );
  });

  test("mixed-releases fires when platforms or images of one architecture differ", () => {
    const s = minimal();
    const gcp = x86(s).images?.gcp;
    assert.ok(gcp);
    gcp.release = OLD;
    assert.deepEqual(
      lintStream(s).map((v) => [v.rule, v.pointer]),
      [["mixed-releases", "/architectures/x86_64"]],
    );
    const t = minimal();
    const qemu = x86(t).artifacts.qemu;
    assert.ok(qemu);
    x86(t).artifacts.qemu = JSON.parse(JSON.stringify(qemu).replaceAll("44.20260707.3.1", OLD));
    assert.deepEqual(rules(lintStream(t)), ["mixed-releases"]);
  });

  test("disable drops a rule's findings", () => {
    const s = minimal();
    metalRaw(s).location = "http://other.example/x";
    assert.deepEqual(rules(lintStream(s)), ["allowed-hosts", "artifact-release", "https-only"]);
    assert.deepEqual(
      rules(lintStream(s, { policy: policy({ disable: ["https-only", "artifact-release"] }) })),
      ["allowed-hosts"],
    );
  });
});

describe("rules against the previous stream", () => {
  test("stream-renamed", () => {
    const s = minimal();
    const previous = { ...older(s), stream: "testing" };
    assert.deepEqual(
      lintStream(s, { previous }).map((v) => [v.rule, v.pointer]),
      [["stream-renamed", "/stream"]],
    );
  });

  test("last-modified-regress fires on an older time, not on the same time", () => {
    const s = minimal();
    const previous = older(s);
    previous.metadata["last-modified"] = "2030-01-01T00:00:00Z";
    assert.deepEqual(
      lintStream(s, { previous }).map((v) => [v.rule, v.pointer]),
      [["last-modified-regress", "/metadata/last-modified"]],
    );
    previous.metadata["last-modified"] = s.metadata["last-modified"];
    assert.deepEqual(lintStream(s, { previous }), []);
  });

  test("no-downgrade fires when the newest release goes back, unless allow-downgrade names the arch", () => {
    const s = minimal();
    const previous = s;
    const next = older(s);
    assert.deepEqual(
      lintStream(next, { previous }).map((v) => [v.rule, v.pointer]),
      [["no-downgrade", "/architectures/x86_64/artifacts"]],
    );
    assert.deepEqual(lintStream(next, { previous, policy: policy({ "allow-downgrade": ["x86_64"] }) }), []);
  });

  test("no-dropped-architecture", () => {
    const s = minimal();
    const previous = older(s);
    previous.architectures.aarch64 = structuredClone(x86(previous));
    assert.deepEqual(
      lintStream(s, { previous }).map((v) => [v.rule, v.pointer]),
      [["no-dropped-architecture", "/architectures/aarch64"]],
    );
    assert.deepEqual(
      lintStream(s, { previous, policy: policy({ "allow-removal": ["/architectures/aarch64"] }) }),
      [],
    );
  });

  test("no-dropped-platform and no-dropped-format", () => {
    const s = minimal();
    const previous = older(s);
    delete x86(s).artifacts.qemu;
    const metal = x86(s).artifacts.metal;
    assert.ok(metal);
    delete metal.formats.pxe;
    assert.deepEqual(
      lintStream(s, { previous }).map((v) => [v.rule, v.pointer]),
      [
        ["no-dropped-format", "/architectures/x86_64/artifacts/metal/formats/pxe"],
        ["no-dropped-platform", "/architectures/x86_64/artifacts/qemu"],
      ],
    );
    // allow-removal covers everything under its pointer.
    assert.deepEqual(
      lintStream(s, { previous, policy: policy({ "allow-removal": ["/architectures/x86_64/artifacts"] }) }),
      [],
    );
  });

  test("no-dropped-image (once per platform) and no-dropped-region", () => {
    const s = minimal();
    const previous = older(s);
    const images = x86(s).images;
    assert.ok(images?.aws?.regions);
    delete images.gcp;
    delete images.aws.regions["eu-west-1"];
    assert.deepEqual(
      lintStream(s, { previous }).map((v) => [v.rule, v.pointer]),
      [
        ["no-dropped-region", "/architectures/x86_64/images/aws/regions/eu-west-1"],
        ["no-dropped-image", "/architectures/x86_64/images/gcp"],
      ],
    );
    const t = minimal();
    delete x86(t).images?.aws;
    assert.deepEqual(
      lintStream(t, { previous }).map((v) => [v.rule, v.pointer]),
      [["no-dropped-image", "/architectures/x86_64/images/aws"]],
    );
  });
});

describe("lintContent and lintDocument", () => {
  test("schema: an invalid stream gives schema findings with pointers (and none when disabled)", () => {
    const s = minimal() as unknown as Record<string, unknown>;
    delete s.stream;
    const text = JSON.stringify(s);
    const found = lintContent({ content: text });
    assert.ok(found.length > 0);
    assert.ok(found.every((v) => v.rule === "schema"));
    assert.deepEqual(lintContent({ content: text, policy: policy({ disable: ["schema"] }) }), []);
  });

  test("schema: a parsed document of another kind", () => {
    const release = parseDocument(
      readFileSync(new URL("../../test/fixtures/upstream/smg-fcos-release.json", import.meta.url), "utf8"),
    );
    assert.notEqual(release.kind, "stream");
    assert.deepEqual(
      lintContent({ content: release }).map((v) => [v.rule, v.pointer]),
      [["schema", ""]],
    );
  });

  test("canonical fires on text out of form, not on the canonical text, bytes or a value", () => {
    const doc = parseDocument(minimal(), { kind: "stream" });
    const canonical = doc.canonical;
    assert.deepEqual(lintContent({ content: canonical }), []);
    assert.deepEqual(lintContent({ content: new TextEncoder().encode(canonical) }), []);
    assert.deepEqual(
      lintContent({ content: `${canonical}\n\n` }).map((v) => [v.rule, v.pointer]),
      [["canonical", ""]],
    );
    assert.deepEqual(
      lintContent({ content: `${canonical}\n\n`, policy: policy({ disable: ["canonical"] }) }),
      [],
    );
    // A value has no text to be out of form.
    assert.equal(doc.kind, "stream");
    if (doc.kind === "stream") assert.deepEqual(lintDocument(doc), []);
  });

  test("the default policy is used when none is given", () => {
    assert.equal(DEFAULT_POLICY.httpsOnly, true);
    const s = minimal();
    metalRaw(s).location = metalRaw(s).location.replace("https:", "http:");
    const doc = parseDocument(s, { kind: "stream" });
    const text = doc.canonical;
    assert.deepEqual(rules(lintContent({ content: text })), ["https-only"]);
  });
});
