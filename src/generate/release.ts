/**
 * Build metadata -> release.json, following coreos-assembler `cmd-generate-release-meta`
 * (formats.md section 5): one meta.json per architecture of one build becomes one release
 * with every architecture, artifact URLs laid out as the builds site does
 * (`<base>/<stream>/builds/<build id>/<arch>/<file>`), and the cloud images of the build.
 */

import { isDeepEqual } from "../canonical/equal.ts";
import { BootstreamError, toPointer } from "../errors.ts";
import type { BuildArtifact, BuildMeta } from "../schema/build-meta.ts";
import { HTTP_URL_EXPECTATION, isHttpUrl } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import type { Release, ReleaseArch, ReleaseArtifact, ReleaseMedia } from "../schema/release.ts";
import { quoted } from "../schema/text.ts";
import { KNOWN_PLATFORMS } from "./platforms.ts";

export const FCOS_STREAM_BASE_URL = "https://builds.coreos.fedoraproject.org/prod/streams";

export interface GenerateReleaseOptions {
  /** Stream name; default: the build's `com.coreos.stream` label, else its config git branch. */
  stream?: string;
  /** Prefix of artifact URLs, e.g. https://builds.coreos.fedoraproject.org/prod/streams. */
  baseUrl: string;
  /** Write `signature` URLs (`<location>.sig`); false writes "" as `--no-signatures` does. */
  signatures?: boolean;
  /** An existing release.json of the same build to extend (new arches and platforms are added). */
  existing?: Release;
}

type Media = Record<string, ReleaseMedia>;

function refuse(message: string, index: number, pointer: string): BootstreamError {
  return new BootstreamError("INVALID_DOCUMENT", `--meta #${index + 1}: ${message}`, { path: pointer });
}

function streamNameOf(meta: BuildMeta): string | undefined {
  return streamSourceOf(meta)?.name;
}

/** The stream name a build carries and where: its `com.coreos.stream` label, else its config branch. */
function streamSourceOf(meta: BuildMeta): { name: string; pointer: string } | undefined {
  const label = meta["coreos-assembler.oci-imported-labels"]?.["com.coreos.stream"];
  if (label !== undefined)
    return { name: label, pointer: "/coreos-assembler.oci-imported-labels/com.coreos.stream" };
  const branch = meta["coreos-assembler.container-config-git"]?.branch;
  if (branch !== undefined) return { name: branch, pointer: "/coreos-assembler.container-config-git/branch" };
  return undefined;
}

/** `<image>:<tag>` for the one tag that is not the build id (the floating tag), else the image. */
function floatingImage(image: string, tags: readonly string[] | undefined, buildid: string): string {
  const floating = (tags ?? []).filter((t) => !t.includes(buildid));
  return floating.length === 1 ? `${image}:${floating[0]}` : image;
}

/** The file name part after `<image>.<arch>.`, e.g. `qcow2.xz`; the format key of the artifact. */
function extensionOf(path: string, image: string, arch: string, index: number, pointer: string): string {
  const marker = `${image}.${arch}.`;
  const at = path.indexOf(marker);
  if (at === -1)
    throw refuse(
      `expected the file name to contain "${marker}", found ${JSON.stringify(path)}`,
      index,
      pointer,
    );
  return path.slice(at + marker.length);
}

function archEntry(
  meta: BuildMeta,
  stream: string,
  options: GenerateReleaseOptions,
  index: number,
): [string, ReleaseArch] {
  const arch = meta["coreos-assembler.basearch"];
  if (arch === undefined)
    throw refuse("has no coreos-assembler.basearch", index, "/coreos-assembler.basearch");
  const base = options.baseUrl.replace(/\/+$/, "");
  const images = meta.images ?? {};
  const artifact = (image: BuildArtifact): ReleaseArtifact => {
    const location = `${base}/${stream}/builds/${meta.buildid}/${arch}/${image.path}`;
    return {
      location,
      signature: options.signatures === false ? "" : `${location}.sig`,
      sha256: image.sha256,
      // Python writes None where the build has no uncompressed digest; keep that.
      "uncompressed-sha256": image["uncompressed-sha256"] ?? null,
    };
  };
  const image = (name: string): BuildArtifact | undefined =>
    Object.hasOwn(images, name) ? images[name] : undefined;

  const media: Media = {};
  for (const platform of KNOWN_PLATFORMS) {
    const file = image(platform);
    if (file === undefined) continue;
    const ext = extensionOf(file.path, platform, arch, index, toPointer(["images", platform, "path"]));
    media[platform] = { artifacts: { [ext]: { disk: artifact(file) } } };
  }
  const mediaOf = (platform: string): ReleaseMedia => {
    media[platform] ??= { artifacts: {} };
    return media[platform];
  };

  if (meta.aliyun !== undefined) {
    mediaOf("aliyun").images = Object.fromEntries(meta.aliyun.map((r) => [r.name, { image: r.id }]));
  }
  if (meta.amis !== undefined) {
    mediaOf("aws").images = Object.fromEntries(meta.amis.map((r) => [r.name, { image: r.hvm }]));
  }
  for (const platform of ["ibmcloud", "powervs"] as const) {
    const objects = meta[platform];
    if (objects === undefined) continue;
    mediaOf(platform).images = Object.fromEntries(
      objects.map((o, i) => {
        if (!o.region || !o.object || !o.bucket) {
          throw refuse(`${platform}[${i}] needs region, object and bucket`, index, toPointer([platform, i]));
        }
        return [o.region, { object: o.object, bucket: o.bucket, url: o.url }];
      }),
    );
  }
  if (meta.gcp !== undefined) {
    const { project, family, image: name } = meta.gcp;
    mediaOf("gcp").image = { ...(project ? { project } : {}), ...(family ? { family } : {}), name };
  }
  if (meta.kubevirt !== undefined) {
    const k = meta.kubevirt;
    mediaOf("kubevirt").image = {
      image: floatingImage(k.image, k.tags, meta.buildid),
      ...(k.digest ? { "digest-ref": `${k.image}@${k.digest}` } : {}),
    };
  }
  const gpgKey = image("ignition-gpg-key");
  if (gpgKey !== undefined) mediaOf("qemu-secex")["ignition-gpg-key"] = artifact(gpgKey);

  // Metal is always present, possibly with no artifacts (as upstream writes it).
  const metal = mediaOf("metal").artifacts;
  const metal4k = image("metal4k");
  if (metal4k !== undefined) {
    metal[`4k.${extensionOf(metal4k.path, "metal4k", arch, index, "/images/metal4k/path")}`] = {
      disk: artifact(metal4k),
    };
  }
  const slots: [string, string, "disk" | "kernel" | "initramfs" | "rootfs"][] = [
    ["iso", "installer.iso", "disk"],
    ["kernel", "installer-pxe", "kernel"],
    ["initramfs", "installer-pxe", "initramfs"],
    ["live-iso", "iso", "disk"],
    ["live-kernel", "pxe", "kernel"],
    ["live-initramfs", "pxe", "initramfs"],
    ["live-rootfs", "pxe", "rootfs"],
  ];
  for (const [name, format, slot] of slots) {
    const file = image(name);
    if (file === undefined) continue;
    metal[format] = { ...metal[format], [slot]: artifact(file) };
  }

  const entry: ReleaseArch = { media };
  if (meta["coreos-assembler.oci-imported"] !== true) entry.commit = meta["ostree-commit"];
  const oci = meta["base-oscontainer"];
  if (oci?.digest !== undefined) {
    entry["oci-image"] = {
      image: floatingImage(oci.image, oci.tags, meta.buildid),
      "digest-ref": `${oci.image}@${oci.digest}`,
    };
  }
  const extensions: NonNullable<ReleaseArch["rhel-coreos-extensions"]> = {};
  if (meta.azure !== undefined) extensions["azure-disk"] = { url: meta.azure.url };
  if (meta["aws-winli"] !== undefined) {
    extensions["aws-winli"] = {
      images: Object.fromEntries(meta["aws-winli"].map((r) => [r.name, { image: r.hvm }])),
    };
  }
  if (Object.keys(extensions).length > 0) entry["rhel-coreos-extensions"] = extensions;
  return [arch, entry];
}

/** One release.json from the meta.json of every architecture of one build. */
export function generateRelease(metas: readonly BuildMeta[], options: GenerateReleaseOptions): Release {
  const first = metas[0];
  if (first === undefined) throw new BootstreamError("USAGE", "generate release needs at least one --meta");
  const release: Release = options.existing
    ? structuredClone(options.existing)
    : { release: first.buildid, stream: options.stream ?? streamNameOf(first) ?? "", architectures: {} };
  if (release.stream === "") {
    throw new BootstreamError("USAGE", "cannot tell the stream name from the build; pass --stream");
  }
  if (!isHttpUrl(options.baseUrl)) {
    throw new BootstreamError(
      "USAGE",
      `base URL: expected ${HTTP_URL_EXPECTATION}, found ${quoted(options.baseUrl)}`,
    );
  }
  // The name becomes part of every artifact URL and, downstream, a file and object key.
  if (!isStreamName(release.stream)) {
    const source = options.stream === undefined && !options.existing ? streamSourceOf(first) : undefined;
    if (source === undefined) {
      throw new BootstreamError(
        "USAGE",
        `stream name: expected ${STREAM_NAME_EXPECTATION}, found ${quoted(release.stream)}`,
      );
    }
    throw refuse(
      `${source.pointer}: expected ${STREAM_NAME_EXPECTATION}, found ${quoted(source.name)}; pass --stream`,
      0,
      source.pointer,
    );
  }
  if (options.stream !== undefined && release.stream !== options.stream) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `the existing release is for stream ${release.stream}, not ${options.stream}`,
    );
  }
  const seen = new Set<string>();
  metas.forEach((meta, index) => {
    if (meta.buildid !== release.release) {
      throw refuse(
        `is build ${meta.buildid}, expected ${release.release}: every --meta must come from the same build`,
        index,
        "/buildid",
      );
    }
    const stream = streamNameOf(meta);
    if (options.stream === undefined && stream !== undefined && stream !== release.stream) {
      throw refuse(
        `is for stream ${stream}, expected ${release.stream}`,
        index,
        "/coreos-assembler.container-config-git/branch",
      );
    }
    const [arch, entry] = archEntry(meta, release.stream, options, index);
    if (seen.has(arch))
      throw refuse(
        `repeats architecture ${arch}: give one meta.json per architecture`,
        index,
        "/coreos-assembler.basearch",
      );
    seen.add(arch);
    const existing = release.architectures[arch];
    if (existing === undefined) {
      release.architectures[arch] = entry;
      return;
    }
    // Merging into an existing release: new platforms are added, identical ones kept,
    // different content for the same platform refused (as upstream does).
    for (const [platform, value] of Object.entries(entry.media)) {
      const old = existing.media[platform];
      if (old === undefined) existing.media[platform] = value;
      else if (!isDeepEqual(old, value)) {
        throw refuse(
          `differs from the existing release for ${arch} ${platform}`,
          index,
          toPointer(["architectures", arch, "media", platform]),
        );
      }
    }
  });
  return release;
}
