/**
 * release.json -> stream.json, as stream-metadata-go `release/translate.go` does it
 * (formats.md section 9), per architecture. Several releases may contribute
 * architectures; an existing stream can be the starting point (like `plume cosa2stream
 * --target`, which replaces only the architectures it is given).
 */
import { BootstreamError } from "../errors.ts";
import { isRfc3339 } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import type { Release, ReleaseArch, ReleaseArtifact } from "../schema/release.ts";
import type {
  ImageFormat,
  Stream,
  StreamArch,
  StreamArtifact,
  StreamExtensions,
  StreamImages,
} from "../schema/stream.ts";
import { quoted } from "../schema/text.ts";
import { VERSION } from "../version.ts";
import { isKnownPlatform } from "./platforms.ts";

export const GENERATOR = `bootstream ${VERSION}`;

function translateArtifact(a: ReleaseArtifact): StreamArtifact {
  const out: StreamArtifact = { location: a.location, sha256: a.sha256 };
  // Go's stream artifact has omitempty on these two: an empty or null value disappears.
  if (a.signature) out.signature = a.signature;
  if (a["uncompressed-sha256"]) out["uncompressed-sha256"] = a["uncompressed-sha256"];
  return out;
}

function regions<T>(
  images: Record<string, T>,
  map: (value: T) => object,
): { regions?: Record<string, never> } {
  const entries = Object.entries(images).map(([region, value]) => [region, map(value)]);
  // An empty map is omitted by Go's omitempty, leaving `{}` for the platform.
  return entries.length === 0 ? {} : { regions: Object.fromEntries(entries) };
}

/** One architecture of a release as a stream architecture entry. */
export function translateArchitecture(release: string, arch: ReleaseArch): StreamArch {
  const artifacts: StreamArch["artifacts"] = {};
  for (const [platform, media] of Object.entries(arch.media)) {
    if (!isKnownPlatform(platform) || media === null) continue;
    const formats: Record<string, ImageFormat> = {};
    for (const [format, files] of Object.entries(media.artifacts)) {
      const slots: ImageFormat = {};
      for (const slot of ["disk", "kernel", "initramfs", "rootfs"] as const) {
        const file = files[slot];
        if (file) slots[slot] = translateArtifact(file);
      }
      formats[format] = slots;
    }
    artifacts[platform] = { release, formats };
  }

  const images: StreamImages = {};
  const media = arch.media;
  for (const platform of ["aliyun", "aws"] as const) {
    const held = media[platform]?.images;
    if (held) images[platform] = regions(held, (r) => ({ release, image: r.image ?? "" }));
  }
  for (const platform of ["ibmcloud", "powervs"] as const) {
    const held = media[platform]?.images;
    if (held) {
      images[platform] = regions(held, (r) => ({
        release,
        object: r.object ?? "",
        bucket: r.bucket ?? "",
        url: r.url ?? "",
      }));
    }
  }
  const gcp = media.gcp?.image;
  if (gcp) {
    images.gcp = {
      release,
      project: gcp.project ?? "",
      ...(gcp.family ? { family: gcp.family } : {}),
      name: gcp.name ?? "",
    };
  }
  const kubevirt = media.kubevirt?.image;
  if (kubevirt)
    images.kubevirt = { release, image: kubevirt.image ?? "", "digest-ref": kubevirt["digest-ref"] ?? "" };

  const entry: StreamArch = { artifacts, images };
  const ext = arch["rhel-coreos-extensions"];
  if (ext) {
    const out: StreamExtensions = {};
    // Upstream only carries an extension when its platform is in the release's media.
    if (ext["azure-disk"] && media.azure) {
      out["azure-disk"] = { release, ...(ext["azure-disk"].url ? { url: ext["azure-disk"].url } : {}) };
    }
    const winli = ext["aws-winli"];
    if (winli && media.aws)
      out["aws-winli"] = winli.images
        ? regions(winli.images, (r) => ({ release, image: r.image ?? "" }))
        : {};
    entry["rhel-coreos-extensions"] = out;
  }
  return entry;
}

export interface ReleaseInput {
  release: Release;
  /** Only these architectures of the release (all when absent), like `ARCH=BUILD` in cosa2stream. */
  architectures?: readonly string[];
  /** How to name the release in messages. */
  name?: string;
}

export interface GenerateStreamOptions {
  stream: string;
  /** RFC 3339 time for `metadata.last-modified`; the caller passes "now" for live output. */
  lastModified: string;
  /** Start from this stream and replace only the architectures the releases bring. */
  base?: Stream;
  generator?: string;
}

export function generateStream(inputs: readonly ReleaseInput[], options: GenerateStreamOptions): Stream {
  if (inputs.length === 0) throw new BootstreamError("USAGE", "generate stream needs at least one --release");
  if (!isStreamName(options.stream)) {
    throw new BootstreamError(
      "USAGE",
      `stream name: expected ${STREAM_NAME_EXPECTATION}, found ${quoted(options.stream)}`,
    );
  }
  if (!isRfc3339(options.lastModified)) {
    throw new BootstreamError(
      "USAGE",
      `last-modified: expected an RFC 3339 timestamp of a real instant, found ${quoted(options.lastModified)}`,
    );
  }
  const architectures: Stream["architectures"] = options.base ? { ...options.base.architectures } : {};
  const from = new Map<string, string>();
  for (const [i, input] of inputs.entries()) {
    const name = input.name ?? `release #${i + 1}`;
    const wanted = input.architectures ?? Object.keys(input.release.architectures);
    for (const arch of wanted) {
      const entry = input.release.architectures[arch];
      if (entry === undefined) {
        const have = Object.keys(input.release.architectures).sort().join(", ");
        throw new BootstreamError(
          "NOT_FOUND",
          `${name} (${input.release.release}) has no architecture ${arch}; it has ${have}`,
        );
      }
      const earlier = from.get(arch);
      if (earlier !== undefined) {
        throw new BootstreamError(
          "USAGE",
          `architecture ${arch} comes from both ${earlier} and ${name}; choose one with ARCH=FILE`,
        );
      }
      from.set(arch, name);
      architectures[arch] = translateArchitecture(input.release.release, entry);
    }
  }
  return {
    stream: options.stream,
    metadata: { "last-modified": options.lastModified, generator: options.generator ?? GENERATOR },
    architectures,
  };
}
