/**
 * stream.json: one per stream (stable, rhcos-4.16, ...), each architecture pointing at the
 * boot images of one release. Field order is the Go declaration order of
 * coreos/stream-metadata-go `stream.Stream`; it is also the canonical output order.
 */
import { z } from "zod";
import {
  archName,
  artifactSchema,
  digestRefOrEmpty,
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

export const streamArtifact = artifactSchema(sha256.optional());
export const imageFormat = imageFormatSchema(streamArtifact);

export const platformArtifacts = z.looseObject({
  release: releaseVersion,
  formats: z.record(formatName, imageFormat),
});

export const regionImage = z.looseObject({ release: releaseVersion, image: nonEmpty });

export const regionObject = z.looseObject({
  release: releaseVersion,
  object: nonEmpty,
  bucket: nonEmpty,
  url: httpUrl,
});

export const replicatedImage = z.looseObject({ regions: z.record(regionName, regionImage).optional() });
export const replicatedObject = z.looseObject({ regions: z.record(regionName, regionObject).optional() });

export const gcpImage = z.looseObject({
  // Older writers (the RHCOS 4.8 prototype) left `release` out of the GCP image.
  release: releaseVersion.optional(),
  // Go writes "" when the release had no project (older RHCOS builds).
  project: gcpProject,
  family: gcpName.optional(),
  name: gcpName,
});

export const containerImage = z.looseObject({
  release: releaseVersion,
  image: imageRef,
  "digest-ref": digestRefOrEmpty,
});

export const streamImages = z.looseObject({
  aliyun: replicatedImage.optional(),
  aws: replicatedImage.optional(),
  gcp: gcpImage.optional(),
  ibmcloud: replicatedObject.optional(),
  kubevirt: containerImage.optional(),
  powervs: replicatedObject.optional(),
});

export const azureMarketplaceImage = z.looseObject({
  publisher: nonEmpty,
  offer: nonEmpty,
  sku: nonEmpty,
  version: nonEmpty,
});

export const azureMarketplaceImages = z.looseObject({
  hyperVGen1: azureMarketplaceImage.optional(),
  hyperVGen2: azureMarketplaceImage.optional(),
});

export const azureMarketplace = z.looseObject({
  "no-purchase-plan": azureMarketplaceImages.optional(),
  ocp: azureMarketplaceImages.optional(),
  opp: azureMarketplaceImages.optional(),
  oke: azureMarketplaceImages.optional(),
  "ocp-emea": azureMarketplaceImages.optional(),
  "opp-emea": azureMarketplaceImages.optional(),
  "oke-emea": azureMarketplaceImages.optional(),
});

/** RHCOS-only additions (stream-metadata-go `stream/rhcos`). */
export const streamExtensions = z.looseObject({
  "aws-winli": replicatedImage.optional(),
  "azure-disk": z.looseObject({ release: releaseVersion, url: httpUrl.optional() }).optional(),
  marketplace: z.looseObject({ azure: azureMarketplace.optional() }).optional(),
});

export const streamArch = z.looseObject({
  artifacts: z.record(platformName, platformArtifacts),
  // Go always writes `images` (a non-pointer struct); be liberal and accept it missing.
  images: streamImages.optional(),
  "rhel-coreos-extensions": streamExtensions.optional(),
});

export const streamMetadata = z.looseObject({
  "last-modified": rfc3339,
  generator: plainText.optional(),
});

export const streamSchema = z.looseObject({
  stream: streamName,
  metadata: streamMetadata,
  architectures: z.record(archName, streamArch),
});

export type Stream = z.infer<typeof streamSchema>;
export type StreamArch = z.infer<typeof streamArch>;
export type StreamArtifact = z.infer<typeof streamArtifact>;
export type ImageFormat = z.infer<typeof imageFormat>;
export type PlatformArtifacts = z.infer<typeof platformArtifacts>;
export type StreamImages = z.infer<typeof streamImages>;
export type StreamExtensions = z.infer<typeof streamExtensions>;
export type RegionImage = z.infer<typeof regionImage>;
export type RegionObject = z.infer<typeof regionObject>;
export type GcpImage = z.infer<typeof gcpImage>;
export type ContainerImage = z.infer<typeof containerImage>;
