/**
 * Pre-4.8 installer boot-image file -> stream.json for one architecture (docs/convert-legacy.md
 * has the mapping field by field).
 *
 * The file is one build's metadata, a subset of a coreos-assembler meta.json plus `baseURI`,
 * so it goes through the same translation as a build does (generate/release.ts maps build
 * image names to platform, format and slot; generate/stream.ts translates release -> stream,
 * as stream-metadata-go does); only the artifact URLs differ: the installer resolved each
 * `images.<name>.path` against `baseURI` (pkg/rhcos/qemu.go: `base.ResolveReference(path)`),
 * not the builds-site layout. Every field the stream cannot hold is returned as `unmapped`.
 */
import { BootstreamError, type Issue, toPointer } from "../errors.ts";
import { isKnownPlatform } from "../generate/platforms.ts";
import { generateRelease } from "../generate/release.ts";
import { generateStream } from "../generate/stream.ts";
import type { BuildArtifact, BuildMeta } from "../schema/build-meta.ts";
import { GCP_NAME_EXPECTATION, isGcpName, isHttpUrl } from "../schema/common.ts";
import { describeValue, detectForeignFormat, isPlainObject, validateValue } from "../schema/documents.ts";
import { decodeDocument } from "../schema/parse.ts";
import type { Stream, StreamArch } from "../schema/stream.ts";
import { quoted } from "../schema/text.ts";
import { buildIdTimestamp, isRhcosBuildId, rhcosStreamName } from "./build-id.ts";
import { type LegacyInstallerFile, legacyFileError, parseLegacyInstaller } from "./legacy-schema.ts";

/** The project RHCOS publishes its GCP images in (RHCOS streams: `images.gcp.project`). */
export const RHCOS_GCP_PROJECT = "rhcos-cloud";

export interface ConvertLegacyOptions {
  /** Architecture of the file; default: the one its file names carry, else x86_64. */
  architecture?: string;
  /** Stream name; default: `rhcos-4.<minor>` from an RHCOS build id. */
  stream?: string;
  /** metadata.last-modified (RFC 3339); default: the time in an RHCOS build id. */
  lastModified?: string;
  /** images.gcp.project when the file has none; default for RHCOS builds: rhcos-cloud. */
  gcpProject?: string;
  /** metadata.generator; default `bootstream <version>`. */
  generator?: string;
  /** How to name the file in messages. */
  name?: string;
}

/** A field of the legacy file that has no place in a stream. */
export interface UnmappedField {
  /** JSON pointer into the legacy file. */
  pointer: string;
  /** Why a stream does not carry it. */
  reason: string;
}

export interface LegacyConversion {
  stream: Stream;
  architecture: string;
  unmapped: UnmappedField[];
}

/** The architectures that shipped legacy files (x86_64 from 4.1; aarch64, ppc64le, s390x by 4.8). */
const ARCH_IN_FILE_NAME = /(?:^|[.-])(x86_64|aarch64|ppc64le|s390x)(?=[.-]|$)/;
const ARCH_NAME = /^[a-z][a-z0-9_]*$/;

/** Fields of an image entry a stream artifact carries (stream-metadata-go `stream.Artifact`). */
const CARRIED_IMAGE_FIELDS = new Set(["path", "sha256", "uncompressed-sha256"]);

/** Why well-known images of a build have no place in a stream. */
const IMAGE_REASONS: Record<string, string> = {
  ostree:
    "the OSTree repository tarball is the OS update payload, not a boot image; streams list boot images only",
  dasd: "stream-metadata-go has no platform or format for s390x DASD images, and RHCOS streams leave them out",
};

/**
 * Images that are not stream artifacts. `ignition-gpg-key` (qemu-secex, RHCOS 4.13+) is no
 * legacy image; given to the build translation it would leave an empty qemu-secex platform.
 */
const NOT_TRANSLATED = new Set(["ostree", "ignition-gpg-key"]);

/** Image names the build translation places in the metal platform (generate/release.ts). */
const METAL_MEDIA = new Set([
  "metal4k",
  "iso",
  "kernel",
  "initramfs",
  "live-iso",
  "live-kernel",
  "live-initramfs",
  "live-rootfs",
]);

/**
 * RHCOS up to 4.5 names its installer ISO and PXE files `iso`, `kernel`, `initramfs`
 * (`…-installer.x86_64.iso`); OKD's FCOS files give those names to the live media
 * (`…-live.x86_64.iso`, `…-live-kernel-x86_64`), which FCOS streams list as metal `iso` and
 * `pxe` (test/fixtures/upstream/fcos-stable-stream-2020.json). The file name tells which.
 */
const LIVE_FILE = /-live[.-]/;

const TOP_LEVEL_REASONS: Record<string, string> = {
  oscontainer:
    "the build's OS update container, machine-os-content, is no boot image; a stream lists boot images only",
  "ostree-commit": "a stream does not record a build's OSTree commit; release.json does",
  "ostree-version": "a stream names a build by its release, the buildid, only",
};

/** Converts the JSON text (or its UTF-8 bytes) of a pre-4.8 installer file. */
export function convertLegacyInstallerText(
  input: string | Uint8Array,
  options: ConvertLegacyOptions = {},
): LegacyConversion {
  let value: unknown;
  try {
    ({ value } = decodeDocument(input));
  } catch (error) {
    // A syntax error is located (line, column); name the file in front of it.
    if (error instanceof BootstreamError && error.issues.length > 0)
      throw legacyFileError(error.issues, options.name);
    throw error;
  }
  return convertLegacyInstaller(value, options);
}

/** Converts a parsed pre-4.8 installer file (any JSON value; it is validated here). */
export function convertLegacyInstaller(value: unknown, options: ConvertLegacyOptions = {}): LegacyConversion {
  const { name } = options;
  if (detectForeignFormat(value) !== "installer-pre-4.8") {
    // describeValue shortens a long key: the message names the keys, not their whole text.
    const keys = isPlainObject(value) ? Object.keys(value).slice(0, 6).map(describeValue).join(", ") : "";
    const message = `expected the pre-4.8 installer format (top-level baseURI, buildid and images), found ${keys === "" ? "no such object" : `the keys ${keys}`}`;
    throw legacyFileError([{ pointer: "", message }], name);
  }
  const file = parseLegacyInstaller(value, name);
  const architecture = chooseArchitecture(file, options.architecture);
  const streamName = options.stream ?? rhcosStreamName(file.buildid);
  if (streamName === undefined) {
    throw new BootstreamError(
      "USAGE",
      `cannot tell the stream from build id ${quoted(file.buildid)} (not an RHCOS 4.x build id); pass --stream`,
    );
  }
  const lastModified = options.lastModified ?? buildIdTimestamp(file.buildid);
  if (lastModified === undefined) {
    throw new BootstreamError(
      "USAGE",
      `build id ${quoted(file.buildid)} carries no build time (YYYYMMDDHHMM); pass --last-modified`,
    );
  }

  let stream: Stream;
  try {
    const release = generateRelease([buildMetaOf(file, architecture, gcpProjectOf(file, options))], {
      baseUrl: file.baseURI,
      stream: streamName,
      signatures: false,
    });
    stream = generateStream([{ release, ...(name === undefined ? {} : { name }) }], {
      stream: streamName,
      lastModified,
      ...(options.generator === undefined ? {} : { generator: options.generator }),
    });
  } catch (error) {
    // The build translation names the same pointers (/images/<name>/path) as the legacy file.
    if (error instanceof BootstreamError && error.code === "INVALID_DOCUMENT" && error.path) {
      const message = error.message.replace(/^--meta #1: /, "");
      throw legacyFileError([{ pointer: error.path, message }], name);
    }
    throw error;
  }
  const entry = stream.architectures[architecture] as StreamArch;
  const carried = relocateArtifacts(entry, file);
  const overwritten = overwrittenImages(file, carried);
  if (overwritten.length > 0) throw legacyFileError(overwritten, name);
  const issues = validateValue(stream, "stream");
  if (issues.length > 0) throw legacyFileError(issues, `the stream converted from ${name ?? "the file"}`);
  return {
    stream,
    architecture,
    unmapped: unmappedFields(value as Record<string, unknown>, file, carried, entry),
  };
}

/** --arch, checked against the architecture the file names carry (`…-metal.ppc64le.raw.gz`). */
function chooseArchitecture(file: LegacyInstallerFile, asked: string | undefined): string {
  if (asked !== undefined && !ARCH_NAME.test(asked)) {
    throw new BootstreamError(
      "USAGE",
      `--arch: expected an architecture name like x86_64 (lowercase letters, digits, _), found ${quoted(asked)}`,
    );
  }
  let carried: { arch: string; pointer: string; path: string } | undefined;
  for (const [image, { path }] of Object.entries(file.images)) {
    const arch = ARCH_IN_FILE_NAME.exec(path)?.[1];
    if (arch === undefined) continue;
    const pointer = toPointer(["images", image, "path"]);
    if (carried !== undefined && carried.arch !== arch) {
      throw legacyFileError([
        {
          pointer,
          message: `expected the architecture of ${carried.pointer} (${carried.arch}), found ${quoted(path)}`,
        },
      ]);
    }
    carried ??= { arch, pointer, path };
  }
  if (asked !== undefined && carried !== undefined && carried.arch !== asked) {
    throw new BootstreamError(
      "USAGE",
      `--arch ${asked}: this file is for ${carried.arch} (${carried.pointer} is ${quoted(carried.path)})`,
    );
  }
  return asked ?? carried?.arch ?? "x86_64";
}

function gcpProjectOf(file: LegacyInstallerFile, options: ConvertLegacyOptions): string | undefined {
  // The project is pasted into gcloud command lines: it gets the shape the file's own has.
  if (options.gcpProject !== undefined && !isGcpName(options.gcpProject)) {
    throw new BootstreamError(
      "USAGE",
      `--gcp-project: expected ${GCP_NAME_EXPECTATION}, found ${quoted(options.gcpProject)}`,
    );
  }
  if (file.gcp === undefined) return undefined;
  const project =
    file.gcp.project ?? options.gcpProject ?? (isRhcosBuildId(file.buildid) ? RHCOS_GCP_PROJECT : undefined);
  if (project === undefined) {
    throw new BootstreamError(
      "USAGE",
      `/gcp: the file does not say which project holds image ${quoted(file.gcp.image)} and build id ${quoted(file.buildid)} is no RHCOS one; pass --gcp-project`,
    );
  }
  return project;
}

/**
 * The legacy file as the build meta.json it abridges. The release generator reads only the
 * build id, the architecture, the images and the cloud fields; the other fields a meta.json
 * requires play no part in the translation and are left empty.
 */
function buildMetaOf(file: LegacyInstallerFile, arch: string, gcpProject: string | undefined): BuildMeta {
  const images: Record<string, BuildArtifact> = {};
  for (const [image, entry] of Object.entries(file.images)) {
    if (NOT_TRANSLATED.has(image)) continue;
    const uncompressed = entry["uncompressed-sha256"];
    images[buildImageName(file, image)] = {
      path: entry.path,
      sha256: entry.sha256,
      ...(uncompressed === undefined ? {} : { "uncompressed-sha256": uncompressed }),
    };
  }
  return {
    buildid: file.buildid,
    name: "",
    "ostree-commit": "",
    "ostree-timestamp": "",
    "ostree-version": "",
    "coreos-assembler.basearch": arch,
    images,
    ...(file.amis === undefined
      ? {}
      : { amis: Object.entries(file.amis).map(([region, ami]) => ({ name: region, hvm: ami.hvm })) }),
    ...(file.gcp === undefined
      ? {}
      : {
          gcp: {
            image: file.gcp.image,
            url: file.gcp.url ?? "",
            ...(gcpProject === undefined ? {} : { project: gcpProject }),
            ...(file.gcp.family === undefined ? {} : { family: file.gcp.family }),
          },
        }),
    ...(file.azure === undefined ? {} : { azure: { url: file.azure.url } }),
  };
}

/**
 * The name a build gives `image` of the legacy file: `live-iso` for an `iso` that is a live
 * ISO (see LIVE_FILE), else its own. Two live ISOs (`iso` and `live-iso`) cannot be told apart.
 */
function buildImageName(file: LegacyInstallerFile, image: string): string {
  if (!["iso", "kernel", "initramfs"].includes(image)) return image;
  const path = file.images[image]?.path ?? "";
  if (!LIVE_FILE.test(path)) return image;
  const live = `live-${image}`;
  if (Object.hasOwn(file.images, live)) {
    throw legacyFileError([
      {
        pointer: toPointer(["images", image, "path"]),
        message: `expected one live ${image}, found ${describeValue(path)} beside ${toPointer(["images", live])}`,
      },
    ]);
  }
  return live;
}

/**
 * Images the build translation places in the stream that are missing from it: another image
 * took the same platform and format (`metal` named `…metal.x86_64.4k.raw.gz` beside
 * `metal4k`). Which one the file meant cannot be told, so neither is guessed.
 */
function overwrittenImages(file: LegacyInstallerFile, carried: ReadonlySet<string>): Issue[] {
  const placed = Object.keys(file.images).filter((image) => isKnownPlatform(image) || METAL_MEDIA.has(image));
  // Only metal is shared: every other platform holds the one image of its name.
  const metal = placed.filter((image) => image === "metal" || METAL_MEDIA.has(image));
  return placed.flatMap((image) => {
    const path = file.images[image]?.path ?? "";
    if (carried.has(path)) return [];
    const others = metal.filter((other) => other !== image).map((other) => toPointer(["images", other]));
    return [
      {
        pointer: toPointer(["images", image, "path"]),
        message: `expected a platform and format of its own in the stream, found ${describeValue(path)}, whose place one of ${others.join(", ")} takes`,
      },
    ];
  });
}

/** The URL the installer made of an image path: `path` resolved against `baseURI`. */
export function legacyArtifactUrl(baseUri: string, path: string): string {
  const url = new URL(path, baseUri).href;
  // The path is a plain file name and the base a strict URL, so this holds; checked anyway,
  // because the result is what users download.
  if (!isHttpUrl(url)) throw new BootstreamError("INVALID_DOCUMENT", `cannot make a URL of ${quoted(path)}`);
  return url;
}

/**
 * Points every artifact at `baseURI` + its file name (the generator laid them out as the FCOS
 * builds site does) and returns the file names the stream carries.
 */
function relocateArtifacts(entry: StreamArch, file: LegacyInstallerFile): Set<string> {
  const carried = new Set<string>();
  for (const platform of Object.values(entry.artifacts)) {
    for (const format of Object.values(platform.formats)) {
      for (const artifact of [format.disk, format.kernel, format.initramfs, format.rootfs]) {
        if (artifact === undefined) continue;
        const path = artifact.location.slice(artifact.location.lastIndexOf("/") + 1);
        artifact.location = legacyArtifactUrl(file.baseURI, path);
        carried.add(path);
      }
    }
  }
  return carried;
}

/** Every field of the file the stream does not hold, in the file's order. */
function unmappedFields(
  raw: Record<string, unknown>,
  file: LegacyInstallerFile,
  carried: ReadonlySet<string>,
  entry: StreamArch,
): UnmappedField[] {
  const out: UnmappedField[] = [];
  const add = (path: (string | number)[], reason: string) => out.push({ pointer: toPointer(path), reason });
  const unknown = "a field the pre-4.8 installer format does not define";
  const extraFields = (path: string[], value: unknown, known: ReadonlySet<string>, reason: string) => {
    if (!isPlainObject(value)) return;
    for (const key of Object.keys(value)) if (!known.has(key)) add([...path, key], reason);
  };
  for (const key of Object.keys(raw)) {
    switch (key) {
      case "baseURI":
      case "buildid":
        break;
      case "amis":
        for (const [region, ami] of Object.entries(file.amis ?? {}))
          extraFields(
            ["amis", region],
            ami,
            new Set(["hvm"]),
            "a stream's AWS region entry holds the AMI id, hvm, only",
          );
        break;
      case "images":
        for (const [image, entryOfImage] of Object.entries(file.images)) {
          if (!carried.has(entryOfImage.path)) {
            add(
              ["images", image],
              reasonOf(IMAGE_REASONS, image, "no platform or format of a stream holds an image of this name"),
            );
            continue;
          }
          extraFields(
            ["images", image],
            entryOfImage,
            CARRIED_IMAGE_FIELDS,
            "a stream artifact has location, signature, sha256 and uncompressed-sha256, no size",
          );
        }
        break;
      case "gcp":
        if (file.gcp?.url !== undefined)
          add(
            ["gcp", "url"],
            "images.gcp names the image by project and name; the tarball itself is artifacts.gcp, made from images.gcp",
          );
        extraFields(["gcp"], raw.gcp, new Set(["family", "image", "project", "url"]), unknown);
        break;
      case "azure":
        if (entry["rhel-coreos-extensions"]?.["azure-disk"] === undefined)
          add(
            ["azure", "url"],
            "a stream carries rhel-coreos-extensions.azure-disk only beside the azure platform's artifacts, and images.azure is missing",
          );
        if (file.azure?.image !== undefined)
          add(
            ["azure", "image"],
            "the blob's name, the last segment of azure.url; azure-disk holds the url only",
          );
        extraFields(["azure"], raw.azure, new Set(["image", "url"]), unknown);
        break;
      default:
        add([key], reasonOf(TOP_LEVEL_REASONS, key, unknown));
    }
  }
  return out;
}

/** `reasons[key]` when it is one of its own entries (a key may be `constructor` or `toString`). */
function reasonOf(reasons: Record<string, string>, key: string, otherwise: string): string {
  return Object.hasOwn(reasons, key) ? (reasons[key] as string) : otherwise;
}
