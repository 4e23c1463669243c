/**
 * release.json: one per build, all architectures (coreos-assembler
 * `cmd-generate-release-meta`, Go model stream-metadata-go `release.Release`).
 * Canonical order is the Go declaration order; real files are written by Python in
 * insertion order, so they are usually not canonical (see formats.md section 6).
 */
import { z } from "zod";
import {
  archName,
  artifactSchema,
  digestRef,
  formatName,
  gcpName,
  gcpProject,
  httpUrl,
  imageFormatSchema,
  imageRef,
  nonEmpty,
  plainText,
  platformName,
  regionName,
  releaseVersion,
  rfc3339,
  sha256,
  streamName,
} from "./common.ts";

// Python writes None (null) when the build metadata lacks the uncompressed digest.
export const releaseArtifact = artifactSchema(sha256.nullable().optional());
export const releaseImageFormat = imageFormatSchema(releaseArtifact);

/** One region's image: `{image}` for aws/aliyun, `{object, bucket, url}` for ibmcloud/powervs. */
export const releaseRegionImage = z.looseObject({
  image: nonEmpty.optional(),
  object: nonEmpty.optional(),
  bucket: nonEmpty.optional(),
  url: httpUrl.optional(),
});

/** The single image of a platform: `{project, family?, name}` for gcp, `{image, digest-ref}` for kubevirt. */
export const releaseSingleImage = z.looseObject({
  project: gcpProject.min(1, { error: "a GCP project id" }).optional(),
  family: gcpName.optional(),
  name: gcpName.optional(),
  image: imageRef.optional(),
  "digest-ref": digestRef.optional(),
});

/** Which keys each platform's images require; other platforms carry artifacts only. */
const REQUIRED_IMAGE_KEYS: Record<string, { field: "images" | "image"; keys: readonly string[] }> = {
  aws: { field: "images", keys: ["image"] },
  aliyun: { field: "images", keys: ["image"] },
  ibmcloud: { field: "images", keys: ["object", "bucket", "url"] },
  powervs: { field: "images", keys: ["object", "bucket", "url"] },
  // Older builds (the RHCOS fixture) have no GCP project; the name is what identifies the image.
  gcp: { field: "image", keys: ["name"] },
  kubevirt: { field: "image", keys: ["image"] },
};

export const releaseMedia = z.looseObject({
  artifacts: z.record(formatName, releaseImageFormat),
  images: z.record(regionName, releaseRegionImage).optional(),
  image: releaseSingleImage.optional(),
  // Only qemu-secex has it; not modelled by stream-metadata-go, dropped in translation.
  "ignition-gpg-key": releaseArtifact.optional(),
});

export const releaseMediaMap = z.record(platformName, releaseMedia).superRefine((media, ctx) => {
  for (const [platform, rule] of Object.entries(REQUIRED_IMAGE_KEYS)) {
    const entry = media[platform];
    if (entry === undefined) continue;
    const holder = entry[rule.field];
    if (holder === undefined) continue;
    const targets: [string[], Record<string, unknown>][] =
      rule.field === "image"
        ? [[[platform, "image"], holder as Record<string, unknown>]]
        : Object.entries(holder as Record<string, Record<string, unknown>>).map(([region, v]) => [
            [platform, "images", region],
            v,
          ]);
    for (const [path, value] of targets) {
      for (const key of rule.keys) {
        if (value[key] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [...path, key],
            message: `a ${key} for the ${platform} image`,
          });
        }
      }
    }
  }
});

export const releaseExtensions = z.looseObject({
  "aws-winli": z.looseObject({ images: z.record(regionName, releaseRegionImage).optional() }).optional(),
  "azure-disk": z.looseObject({ url: httpUrl.optional() }).optional(),
});

export const releaseArch = z.looseObject({
  commit: plainText.optional(),
  "oci-image": z.looseObject({ image: imageRef, "digest-ref": digestRef }).optional(),
  media: releaseMediaMap,
  "rhel-coreos-extensions": releaseExtensions.optional(),
});

export const releaseSchema = z.looseObject({
  release: releaseVersion,
  stream: streamName,
  metadata: z.looseObject({ "last-modified": rfc3339 }).optional(),
  architectures: z.record(archName, releaseArch),
});

export type Release = z.infer<typeof releaseSchema>;
export type ReleaseArch = z.infer<typeof releaseArch>;
export type ReleaseMedia = z.infer<typeof releaseMedia>;
export type ReleaseArtifact = z.infer<typeof releaseArtifact>;
