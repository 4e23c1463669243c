/**
 * Select artifacts and cloud images from a parsed stream, so installers and the CLI never
 * walk the maps themselves. A miss is a NOT_FOUND error naming what does exist.
 */
import { BootstreamError, toPointer } from "../errors.ts";
import type { ImageFormat, Stream, StreamArch, StreamArtifact } from "../schema/stream.ts";

/** Artifact slots of a format, in the order stream-metadata-go declares them. */
export const ARTIFACT_KINDS = ["disk", "kernel", "initramfs", "rootfs"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface ArtifactRef {
  architecture: string;
  platform: string;
  format: string;
  kind: ArtifactKind;
  release: string;
  artifact: StreamArtifact;
  /** JSON pointer of the artifact in the stream. */
  pointer: string;
}

export interface ArtifactQuery {
  architecture: string;
  platform?: string;
  format?: string;
  kind?: ArtifactKind;
}

function notFound(
  what: string,
  name: string,
  where: string,
  available: readonly string[],
  path: string[],
): BootstreamError {
  const list = available.length === 0 ? "none" : available.join(", ");
  return new BootstreamError("NOT_FOUND", `no ${what} ${JSON.stringify(name)}${where}; available: ${list}`, {
    path: toPointer(path),
  });
}

export function getArchitecture(stream: Stream, architecture: string): StreamArch {
  const arch = Object.hasOwn(stream.architectures, architecture)
    ? stream.architectures[architecture]
    : undefined;
  if (arch === undefined) {
    throw notFound(
      "architecture",
      architecture,
      ` in stream ${stream.stream}`,
      Object.keys(stream.architectures).sort(),
      ["architectures"],
    );
  }
  return arch;
}

function pick<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Every artifact matching the query, ordered by platform, format and slot. */
export function findArtifacts(stream: Stream, query: ArtifactQuery): ArtifactRef[] {
  const arch = getArchitecture(stream, query.architecture);
  const base = ["architectures", query.architecture, "artifacts"];
  let platforms = Object.keys(arch.artifacts).sort();
  if (query.platform !== undefined) {
    if (pick(arch.artifacts, query.platform) === undefined) {
      throw notFound("platform", query.platform, ` for ${query.architecture}`, platforms, base);
    }
    platforms = [query.platform];
  }
  const out: ArtifactRef[] = [];
  for (const platform of platforms) {
    const entry = arch.artifacts[platform];
    if (entry === undefined) continue;
    let formats = Object.keys(entry.formats).sort();
    if (query.format !== undefined) {
      if (pick(entry.formats, query.format) === undefined) {
        throw notFound("format", query.format, ` for ${query.architecture} ${platform}`, formats, [
          ...base,
          platform,
          "formats",
        ]);
      }
      formats = [query.format];
    }
    for (const format of formats) {
      const slots = entry.formats[format] as ImageFormat;
      const present = ARTIFACT_KINDS.filter((k) => slots[k] !== undefined);
      if (query.kind !== undefined && !present.includes(query.kind) && query.format !== undefined) {
        throw notFound("file", query.kind, ` in ${query.architecture} ${platform} ${format}`, present, [
          ...base,
          platform,
          "formats",
          format,
        ]);
      }
      for (const kind of present) {
        if (query.kind !== undefined && kind !== query.kind) continue;
        out.push({
          architecture: query.architecture,
          platform,
          format,
          kind,
          release: entry.release,
          artifact: slots[kind] as StreamArtifact,
          pointer: toPointer([...base, platform, "formats", format, kind]),
        });
      }
    }
  }
  if (out.length === 0 && query.kind !== undefined) {
    throw notFound(
      "file",
      query.kind,
      ` for ${query.architecture}${query.platform ? ` ${query.platform}` : ""}`,
      [],
      base,
    );
  }
  return out;
}

/** Every artifact of every architecture. */
export function listArtifacts(stream: Stream): ArtifactRef[] {
  return Object.keys(stream.architectures)
    .sort()
    .flatMap((architecture) => findArtifacts(stream, { architecture }));
}

/**
 * A cloud image as the stream records it, plus where it was found. Regional platforms
 * (aws, aliyun, ibmcloud, powervs, aws-winli) give one per region.
 */
export interface CloudImage {
  architecture: string;
  platform: string;
  region?: string;
  release?: string;
  /** AMI id, Aliyun image id, or container image (kubevirt, with a floating tag). */
  image?: string;
  project?: string;
  family?: string;
  name?: string;
  object?: string;
  bucket?: string;
  url?: string;
  "digest-ref"?: string;
  pointer: string;
}

/** Where each image platform lives in an architecture entry. */
const IMAGE_PLATFORMS: Record<string, { holder: "images" | "rhel-coreos-extensions"; regional: boolean }> = {
  aliyun: { holder: "images", regional: true },
  aws: { holder: "images", regional: true },
  gcp: { holder: "images", regional: false },
  ibmcloud: { holder: "images", regional: true },
  kubevirt: { holder: "images", regional: false },
  powervs: { holder: "images", regional: true },
  "aws-winli": { holder: "rhel-coreos-extensions", regional: true },
  "azure-disk": { holder: "rhel-coreos-extensions", regional: false },
};

export function isRegionalPlatform(platform: string): boolean {
  return IMAGE_PLATFORMS[platform]?.regional ?? false;
}

function imagePlatformsOf(arch: StreamArch): string[] {
  const out: string[] = [];
  for (const [platform, where] of Object.entries(IMAGE_PLATFORMS)) {
    const holder = arch[where.holder] as Record<string, unknown> | undefined;
    if (holder !== undefined && holder[platform] !== undefined) out.push(platform);
  }
  return out;
}

function stringFields(entry: object): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  for (const [k, v] of Object.entries(entry)) if (typeof v === "string") out[k] = v;
  return out;
}

/** All images of one platform for an architecture (every region, for regional ones). */
export function listImages(stream: Stream, query: { architecture: string; platform?: string }): CloudImage[] {
  const arch = getArchitecture(stream, query.architecture);
  const available = imagePlatformsOf(arch);
  let platforms = available;
  if (query.platform !== undefined) {
    if (!available.includes(query.platform)) {
      throw notFound("image platform", query.platform, ` for ${query.architecture}`, available, [
        "architectures",
        query.architecture,
        "images",
      ]);
    }
    platforms = [query.platform];
  }
  const out: CloudImage[] = [];
  for (const platform of platforms) {
    const where = IMAGE_PLATFORMS[platform];
    if (where === undefined) continue;
    const base = ["architectures", query.architecture, where.holder, platform];
    const entry = (arch[where.holder] as Record<string, Record<string, unknown>>)[platform] ?? {};
    if (!where.regional) {
      out.push({
        ...stringFields(entry),
        architecture: query.architecture,
        platform,
        pointer: toPointer(base),
      });
      continue;
    }
    const regions = (entry.regions ?? {}) as Record<string, object>;
    for (const region of Object.keys(regions).sort()) {
      out.push({
        ...stringFields(regions[region] ?? {}),
        architecture: query.architecture,
        platform,
        region,
        pointer: toPointer([...base, "regions", region]),
      });
    }
  }
  return out;
}

export interface ImageQuery {
  architecture: string;
  platform: string;
  /** Required for regional platforms (aws, aliyun, ibmcloud, powervs, aws-winli). */
  region?: string;
}

/** The one image for architecture + platform (+ region). */
export function findImage(stream: Stream, query: ImageQuery): CloudImage {
  const all = listImages(stream, { architecture: query.architecture, platform: query.platform });
  if (!isRegionalPlatform(query.platform)) {
    const image = all[0];
    if (image === undefined) throw notFound("image", query.platform, ` for ${query.architecture}`, [], []);
    return image;
  }
  const regions = all.map((i) => i.region ?? "");
  if (query.region === undefined) {
    throw new BootstreamError(
      "USAGE",
      `${query.platform} images are per region; name one (available: ${regions.join(", ") || "none"})`,
    );
  }
  const image = all.find((i) => i.region === query.region);
  if (image === undefined) {
    throw notFound("region", query.region, ` for ${query.architecture} ${query.platform}`, regions, [
      "architectures",
      query.architecture,
      IMAGE_PLATFORMS[query.platform]?.holder ?? "images",
      query.platform,
      "regions",
    ]);
  }
  return image;
}
