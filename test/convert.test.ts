/**
 * `bootstream convert legacy`: real pre-4.8 installer files (test/fixtures/legacy/SOURCES.md)
 * converted by the real executable; every AMI, URL and digest checked against the source, the
 * output valid and canonical, every field without a place named on stderr.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { buildIdTimestamp, rhcosStreamName } from "../src/convert/build-id.ts";
import { escapePointerToken, parsePointer } from "../src/errors.ts";
import { type CliRun, spawnBootstream } from "./helpers/cli.ts";
import { fixturePath, tempDir } from "./helpers/fixtures.ts";

const LEGACY = fileURLToPath(new URL("./fixtures/legacy/", import.meta.url));

interface LegacyImage {
  path: string;
  sha256: string;
  "uncompressed-sha256"?: string;
  [key: string]: unknown;
}
interface LegacyFile {
  baseURI: string;
  buildid: string;
  amis?: Record<string, { hvm: string }>;
  gcp?: { image: string; url?: string; project?: string; family?: string };
  azure?: { url: string; image?: string };
  images: Record<string, LegacyImage>;
  [key: string]: unknown;
}
interface Artifact {
  location: string;
  sha256: string;
  "uncompressed-sha256"?: string;
  signature?: string;
}
interface ConvertedArch {
  artifacts: Record<string, { release: string; formats: Record<string, Record<string, Artifact>> }>;
  images?: {
    aws?: { regions?: Record<string, { release: string; image: string }> };
    gcp?: { release?: string; project: string; family?: string; name: string };
  };
  "rhel-coreos-extensions"?: { "azure-disk"?: { release: string; url?: string } };
}
interface Converted {
  stream: string;
  metadata: { "last-modified": string; generator?: string };
  architectures: Record<string, ConvertedArch>;
}

interface Case {
  file: string;
  args: string[];
  arch: string;
  stream: string;
  lastModified: string;
  /** Images no stream holds. */
  notCarried: string[];
}

const CASES: Case[] = [
  {
    file: join(LEGACY, "rhcos-4.5-x86_64.json"),
    args: [],
    arch: "x86_64",
    stream: "rhcos-4.5",
    lastModified: "2020-08-01T09:29:00Z",
    notCarried: ["ostree"],
  },
  {
    file: join(LEGACY, "rhcos-4.7-ppc64le.json"),
    args: [],
    arch: "ppc64le",
    stream: "rhcos-4.7",
    lastModified: "2022-06-13T10:39:00Z",
    notCarried: ["ostree"],
  },
  {
    file: join(LEGACY, "rhcos-4.8-s390x.json"),
    args: ["--arch", "s390x"],
    arch: "s390x",
    stream: "rhcos-4.8",
    lastModified: "2022-06-13T21:49:00Z",
    notCarried: ["dasd", "ostree"],
  },
  {
    // OKD: an FCOS build id, so nothing can be derived from it.
    file: fixturePath("installer-rhcos-pre-4.8.json"),
    args: ["--stream", "okd-4.3", "--last-modified", "2019-10-21T00:00:00Z", "--gcp-project", "rhcos-cloud"],
    arch: "x86_64",
    stream: "okd-4.3",
    lastModified: "2019-10-21T00:00:00Z",
    notCarried: ["ostree"],
  },
  {
    // OKD's FCOS file: live media named iso/kernel/initramfs, gcp with family and project.
    file: join(LEGACY, "okd-fcos-amd64.json"),
    args: ["--stream", "stable", "--last-modified", "2020-12-01T00:00:00Z"],
    arch: "x86_64",
    stream: "stable",
    lastModified: "2020-12-01T00:00:00Z",
    notCarried: ["ostree"],
  },
];

const UNMAPPED_LINE = /^(\/\S*): not carried by a stream \((.+)\)$/;

function unmappedPointers(stderr: string): string[] {
  const lines = stderr.split("\n").filter((l) => l !== "");
  return lines.map((line) => {
    const m = UNMAPPED_LINE.exec(line);
    assert.ok(m, `an unmapped-field line, got ${JSON.stringify(line)}`);
    return m[1] as string;
  });
}

/** Every leaf of a JSON value as a JSON pointer. */
function leaves(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, `${prefix}/${escapePointerToken(k)}`));
}

function allArtifacts(arch: ConvertedArch): Artifact[] {
  return Object.values(arch.artifacts).flatMap((p) =>
    Object.values(p.formats).flatMap((f) => Object.values(f)),
  );
}

/** Every `release` value anywhere in the converted architecture. */
function releases(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === "release" && typeof v === "string" ? [v] : releases(v),
  );
}

const convert = (args: string[], stdin?: string): Promise<CliRun> =>
  spawnBootstream(["convert", "legacy", ...args], stdin === undefined ? {} : { stdin });

describe("convert legacy: real pre-4.8 installer files", () => {
  for (const c of CASES) {
    it(`${c.file.split("/").at(-1)} -> ${c.stream} (${c.arch}): every AMI, URL and digest of the source`, async () => {
      const source = JSON.parse(readFileSync(c.file, "utf8")) as LegacyFile;
      const dir = tempDir("bootstream-convert-");
      const out = join(dir, "stream.json");
      const run = await convert([c.file, ...c.args, "-o", out]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "", "with -o the stream goes to the file only");
      const stream = JSON.parse(readFileSync(out, "utf8")) as Converted;

      assert.equal(stream.stream, c.stream);
      assert.equal(stream.metadata["last-modified"], c.lastModified);
      assert.deepEqual(Object.keys(stream.architectures), [c.arch]);
      const arch = stream.architectures[c.arch] as ConvertedArch;

      // Every release is the build id.
      const all = releases(arch);
      assert.ok(all.length > 0);
      for (const release of all) assert.equal(release, source.buildid);

      // Every AMI: each region of the source, the same id, and no other region.
      const regions = arch.images?.aws?.regions ?? {};
      assert.deepEqual(Object.keys(regions).sort(), Object.keys(source.amis ?? {}).sort());
      for (const [region, ami] of Object.entries(source.amis ?? {})) {
        assert.deepEqual(regions[region], { release: source.buildid, image: ami.hvm }, region);
      }

      // Every image: its URL (baseURI + path) with its digests, or named as not carried.
      const artifacts = allArtifacts(arch);
      const unmapped = unmappedPointers(run.stderr);
      let carried = 0;
      for (const [name, image] of Object.entries(source.images)) {
        const url = source.baseURI + image.path;
        const found = artifacts.filter((a) => a.location === url);
        if (c.notCarried.includes(name)) {
          assert.equal(found.length, 0, name);
          assert.ok(unmapped.includes(`/images/${name}`), `/images/${name} named on stderr`);
          continue;
        }
        carried++;
        assert.equal(found.length, 1, `${name}: ${url}`);
        const artifact = found[0] as Artifact;
        assert.equal(artifact.sha256, image.sha256, name);
        assert.equal(artifact["uncompressed-sha256"], image["uncompressed-sha256"], name);
        assert.equal(artifact.signature, undefined, "legacy files have no signatures; none is invented");
      }
      assert.equal(artifacts.length, carried, "no artifact the source does not have");

      // GCP and Azure.
      if (source.gcp) {
        assert.deepEqual(arch.images?.gcp, {
          release: source.buildid,
          project: source.gcp.project ?? "rhcos-cloud",
          ...(source.gcp.family === undefined ? {} : { family: source.gcp.family }),
          name: source.gcp.image,
        });
      } else assert.equal(arch.images?.gcp, undefined);
      if (source.azure) {
        assert.deepEqual(arch["rhel-coreos-extensions"]?.["azure-disk"], {
          release: source.buildid,
          url: source.azure.url,
        });
      }

      // Nothing silently dropped: every leaf of the source is mapped or named (or under a named pointer).
      const mapped = new Set([
        "/baseURI",
        "/buildid",
        "/gcp/image",
        "/gcp/project",
        "/gcp/family",
        "/azure/url",
      ]);
      for (const region of Object.keys(source.amis ?? {})) mapped.add(`/amis/${region}/hvm`);
      for (const name of Object.keys(source.images)) {
        if (c.notCarried.includes(name)) continue;
        for (const field of ["path", "sha256", "uncompressed-sha256"]) mapped.add(`/images/${name}/${field}`);
      }
      for (const leaf of leaves(source)) {
        if (mapped.has(leaf)) continue;
        assert.ok(
          unmapped.some((p) => leaf === p || leaf.startsWith(`${p}/`)),
          `${leaf} is neither carried nor named on stderr`,
        );
      }
      for (const field of ["oscontainer", "ostree-commit", "ostree-version"])
        if (field in source) assert.ok(unmapped.includes(`/${field}`), field);
      assert.ok(unmapped.includes("/images/metal/size"), "sizes are named: a stream artifact has none");

      // The output is a valid stream, canonical as written.
      const validate = await spawnBootstream(["validate", out]);
      assert.equal(validate.code, 0, validate.stderr);
      const fmt = await spawnBootstream(["fmt", "--check", out]);
      assert.equal(fmt.code, 0, fmt.stderr + fmt.stdout);
    });
  }

  it("live media named iso/kernel/initramfs (OKD's FCOS files) are metal iso and pxe, as FCOS streams list them", async () => {
    const run = await convert([
      join(LEGACY, "okd-fcos-amd64.json"),
      "--stream",
      "stable",
      "--last-modified",
      "2020-12-01T00:00:00Z",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const metal = (JSON.parse(run.stdout) as Converted).architectures.x86_64?.artifacts.metal;
    // test/fixtures/upstream/fcos-stable-stream-2020.json: raw.xz, iso (…-live.x86_64.iso), pxe (kernel, initramfs).
    assert.deepEqual(Object.keys(metal?.formats ?? {}), ["iso", "pxe", "raw.xz"]);
    assert.match(metal?.formats.iso?.disk?.location ?? "", /-live\.x86_64\.iso$/);
    assert.match(metal?.formats.pxe?.kernel?.location ?? "", /-live-kernel-x86_64$/);
    assert.match(metal?.formats.pxe?.initramfs?.location ?? "", /-live-initramfs\.x86_64\.img$/);
    // RHCOS 4.5's iso/kernel/initramfs are the installer media: they keep their installer formats.
    const rhcos = await convert([join(LEGACY, "rhcos-4.5-x86_64.json")]);
    const formats = (JSON.parse(rhcos.stdout) as Converted).architectures.x86_64?.artifacts.metal?.formats;
    assert.deepEqual(Object.keys(formats ?? {}), ["installer-pxe", "installer.iso", "raw.gz"]);
  });

  it("rhcos-4.8-s390x.json has the layout of the installer's own 4.8 stream for that build", async () => {
    // openshift/installer data/data/rhcos-stream.json at 0269a74f30ab5d5ad38637c0002d35b915dc7b95
    // (the commit of the legacy file) lists s390x build 48.84.202206132149-0 with these platforms,
    // formats and slots, the same locations and digests, `.sig` signatures and "images": {}.
    const run = await convert([join(LEGACY, "rhcos-4.8-s390x.json")]);
    assert.equal(run.code, 0, run.stderr);
    const arch = (JSON.parse(run.stdout) as Converted).architectures.s390x as ConvertedArch;
    const layout = Object.fromEntries(
      Object.entries(arch.artifacts).map(([platform, { formats }]) => [
        platform,
        Object.fromEntries(Object.entries(formats).map(([format, slots]) => [format, Object.keys(slots)])),
      ]),
    );
    assert.deepEqual(layout, {
      metal: {
        "4k.raw.gz": ["disk"],
        iso: ["disk"],
        pxe: ["kernel", "initramfs", "rootfs"],
        "raw.gz": ["disk"],
      },
      openstack: { "qcow2.gz": ["disk"] },
      qemu: { "qcow2.gz": ["disk"] },
    });
    assert.deepEqual(arch.images, {});
    assert.equal(
      arch.artifacts.metal?.formats.pxe?.rootfs?.location,
      "https://rhcos.mirror.openshift.com/art/storage/releases/rhcos-4.8-s390x/48.84.202206132149-0/s390x/rhcos-48.84.202206132149-0-live-rootfs.s390x.img",
    );
  });

  it("--json prints {stream, unmapped}: the same stream and the same fields as stdout and stderr", async () => {
    const file = join(LEGACY, "rhcos-4.5-x86_64.json");
    const plain = await convert([file]);
    const json = await convert([file, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, "");
    const report = JSON.parse(json.stdout) as {
      stream: unknown;
      unmapped: { pointer: string; reason: string }[];
    };
    assert.deepEqual(report.stream, JSON.parse(plain.stdout));
    assert.deepEqual(
      report.unmapped.map((u) => `${u.pointer}: not carried by a stream (${u.reason})\n`).join(""),
      plain.stderr,
    );
  });

  it("reads standard input, and the output does not depend on where the file came from", async () => {
    const file = join(LEGACY, "rhcos-4.7-ppc64le.json");
    const fromFile = await convert([file]);
    const fromStdin = await convert(["-"], readFileSync(file, "utf8"));
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, fromFile.stdout);
  });

  it("validate names the legacy kind and points at convert legacy (exit 1)", async () => {
    const run = await spawnBootstream(["validate", join(LEGACY, "rhcos-4.5-x86_64.json")]);
    assert.equal(run.code, 1);
    const output = run.stdout + run.stderr;
    assert.match(output, /rhcos-4\.5-x86_64\.json: \/: not a document kind bootstream reads/);
    assert.match(output, /pre-4\.8 installer format/);
    assert.match(output, /`bootstream convert legacy`/);
    const json = await spawnBootstream(["validate", "--json", join(LEGACY, "rhcos-4.7-ppc64le.json")]);
    assert.equal(json.code, 1);
    assert.match(json.stdout, /UNKNOWN_KIND|bootstream convert legacy/);
  });
});

describe("convert legacy: usage errors exit 2", () => {
  const okd = fixturePath("installer-rhcos-pre-4.8.json");
  const cases: [string, string[], RegExp][] = [
    ["an FCOS build id without --stream", [okd], /pass --stream/],
    ["an FCOS build id without --last-modified", [okd, "--stream", "okd-4.3"], /pass --last-modified/],
    [
      "an FCOS build id without --gcp-project",
      [okd, "--stream", "okd-4.3", "--last-modified", "2019-10-21T00:00:00Z"],
      /pass --gcp-project/,
    ],
    ["a bad --stream", [okd, "--stream", "../etc"], /--stream/],
    [
      "an impossible --last-modified",
      [okd, "--stream", "x", "--last-modified", "2021-02-31T00:00:00Z"],
      /RFC 3339/,
    ],
    [
      "an --arch the file names contradict",
      [join(LEGACY, "rhcos-4.7-ppc64le.json"), "-a", "x86_64"],
      /this file is for ppc64le/,
    ],
    ["a missing file", [join(LEGACY, "no-such.json")], /no-such\.json/],
    ["no file", [], /missing required argument/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const run = await convert(args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, message);
    });
  }
});

describe("convert legacy: hostile files", () => {
  const base = JSON.parse(readFileSync(join(LEGACY, "rhcos-4.5-x86_64.json"), "utf8")) as LegacyFile;
  const dir = tempDir("bootstream-convert-hostile-");
  const write = (name: string, edit: (file: LegacyFile) => void): string => {
    const file = structuredClone(base);
    edit(file);
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(file, null, 4));
    return path;
  };
  /** Sets the value at a JSON pointer of the file (creating the last key). */
  const setAt = (file: LegacyFile, pointer: string, value: unknown): void => {
    const tokens = parsePointer(pointer);
    const last = tokens.pop() as string;
    let at = file as Record<string, unknown>;
    for (const token of tokens) at = at[token] as Record<string, unknown>;
    at[last] = value;
  };
  const openstackPath = (base.images.openstack as LegacyImage).path;
  const refused: [string, string, unknown][] = [
    ["a path with ../", "/images/metal/path", "../../etc/passwd"],
    ["a path that is a URL", "/images/qemu/path", "https://evil.example/x.qcow2.gz"],
    ["a path with a query", "/images/aws/path", "rhcos-aws.x86_64.vmdk.gz?x=1"],
    ["a path with a %-escape", "/images/aws/path", "%2e%2e%2fetc"],
    ["a file: baseURI", "/baseURI", "file:///etc/"],
    ["a javascript: baseURI", "/baseURI", "javascript:alert(1)//"],
    ["a baseURI with a shell metacharacter", "/baseURI", "https://x.example/$(reboot)/"],
    ["a baseURI with a query", "/baseURI", "https://x.example/a/?sig=1"],
    ["a bad sha256", "/images/iso/sha256", "ABCDEF"],
    ["a CSV formula as a digest", "/images/metal/uncompressed-sha256", "=cmd|' /C calc'!A0"],
    ["an AMI that is markup", "/amis/us-east-1/hvm", "<script>x</script>"],
    ["a region with a path in it", "/amis/..~1x", { hvm: "ami-0123456789abcdef0" }],
    ["a GCP image name with a newline", "/gcp/image", "rhcos\nx"],
    ["a build id with a space", "/buildid", "45.82 x"],
    ["two images of one file", "/images/qemu/path", openstackPath],
  ];
  for (const [what, pointer, value] of refused) {
    it(`refuses ${what}, naming ${pointer} (exit 1)`, async () => {
      const path = write(`${what.replaceAll(/\W+/g, "-")}.json`, (f) => setAt(f, pointer, value));
      const run = await convert([path, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      const error = (JSON.parse(run.stdout) as { error: { code: string; path: string } }).error;
      assert.equal(error.code, "INVALID_DOCUMENT");
      assert.equal(error.path, pointer);
      assert.ok(run.stderr.includes(pointer), run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("an unknown field with a terminal escape in its name is named on stderr, escaped", async () => {
    const path = write("escape.json", (f) => {
      f["evil\u001b]0;pwned\u0007"] = "x";
    });
    const run = await convert([path]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes("\u001b") && !run.stderr.includes("\u0007"), "no raw control character");
    assert.match(run.stderr, /^\/evil\\u001b\]0;pwned\\u0007: not carried by a stream/m);
  });

  it("an image whose name holds a terminal escape is refused, the pointer escaped (exit 1)", async () => {
    const path = write("escape-image.json", (f) => {
      f.images["evil\u001b]0;pwned\u0007"] = { path: "evil.img", sha256: "0".repeat(64) };
    });
    const run = await convert([path]);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!run.stderr.includes("\u001b") && !run.stderr.includes("\u0007"), "no raw control character");
    assert.match(run.stderr, /\/images\/evil\\u001b/);
  });

  it("a file over the size limit is refused before parsing (exit 2, TOO_LARGE)", async () => {
    const path = join(dir, "huge.json");
    writeFileSync(path, `{"baseURI": "https://x.example/", "pad": "${"x".repeat(5 * 1024 * 1024)}"}`);
    const run = await convert([path, "--json"]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, "TOO_LARGE");
  });

  it("a stream or a meta.json is not a legacy file (exit 1, the keys named)", async () => {
    const run = await convert([fixturePath("rhcos-4.8-stream.json")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /expected the pre-4\.8 installer format/);
    const notJson = await convert(["-"], "{nope");
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /^bootstream: -: \/: expected/);
  });
});

describe("RHCOS build ids (library)", () => {
  it("tell the stream and the build time when they have them", () => {
    const cases: [string, string | undefined, string | undefined][] = [
      ["45.82.202008010929-0", "rhcos-4.5", "2020-08-01T09:29:00Z"],
      ["43.81.202003111353.0", "rhcos-4.3", "2020-03-11T13:53:00Z"],
      ["47.84.202206131039-0", "rhcos-4.7", "2022-06-13T10:39:00Z"],
      ["410.8.20190520.0", "rhcos-4.1", undefined],
      ["43.80.20191002.1", "rhcos-4.3", undefined],
      ["48.84.202213999999-0", "rhcos-4.8", undefined],
      ["30.20191014.0", undefined, undefined],
      ["410.84.202201251210-0", undefined, undefined],
    ];
    for (const [id, stream, time] of cases) {
      assert.equal(rhcosStreamName(id), stream, id);
      assert.equal(buildIdTimestamp(id), time, id);
    }
  });
});
