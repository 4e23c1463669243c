/**
 * releases.json: the append-only release index of one FCOS stream (Go `release.Index`,
 * written by `plume update-release-index`). Oldest release first, newest last.
 */
import { z } from "zod";
import {
  archName,
  digestRef,
  httpUrl,
  imageRef,
  nonEmpty,
  releaseVersion,
  rfc3339,
  streamName,
} from "./common.ts";

export const indexCommit = z.looseObject({ architecture: archName, checksum: nonEmpty });

// Go embeds the image struct first, so `architecture` is written last.
export const indexOciImage = z.looseObject({
  image: imageRef,
  "digest-ref": digestRef,
  architecture: archName,
});

export const indexRelease = z.looseObject({
  commits: z.array(indexCommit).optional(),
  "oci-images": z.array(indexOciImage).optional(),
  version: releaseVersion,
  metadata: httpUrl,
});

export const releaseIndexSchema = z.looseObject({
  note: z.string().optional(),
  releases: z.array(indexRelease),
  metadata: z.looseObject({ "last-modified": rfc3339 }),
  stream: streamName,
});

export type ReleaseIndex = z.infer<typeof releaseIndexSchema>;
export type IndexRelease = z.infer<typeof indexRelease>;
