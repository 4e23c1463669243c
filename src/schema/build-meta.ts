/**
 * coreos-assembler build `meta.json`: one per (build, architecture). Modelled on
 * coreos-assembler `src/v1.json`; the fields the release generator reads are checked
 * closely, the rest are known by name only (so `--strict` can report real unknowns).
 * Canonical form keeps the producer's key order: no Go writer defines another one.
 */
import { z } from "zod";
import { archName, httpUrl, nonEmpty, regionName, sha256 } from "./common.ts";

export const buildArtifact = z.looseObject({
  path: z.string().regex(/^[^/\s]+$/, { error: "a bare file name without directories" }),
  sha256: sha256,
  size: z.number().int().nonnegative().optional(),
  "uncompressed-sha256": sha256.optional(),
  "uncompressed-size": z.number().int().nonnegative().optional(),
  "skip-compression": z.boolean().optional(),
});

const amiEntry = z.looseObject({ name: regionName, hvm: nonEmpty, snapshot: z.string().optional() });
const cloudObject = z.looseObject({
  url: httpUrl,
  image: z.string().optional(),
  object: z.string().optional(),
  bucket: z.string().optional(),
  region: z.string().optional(),
});
const containerImage = z.looseObject({
  image: nonEmpty,
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, { error: "a digest like sha256:<64 hex>" })
    .optional(),
  tags: z.array(z.string()).optional(),
  "manifest-list-digest": z.string().optional(),
  comment: z.string().optional(),
  "additional-images": z.array(z.unknown()).optional(),
});

const known = z.unknown().optional();

export const buildMetaSchema = z.looseObject({
  ref: known,
  "build-url": known,
  buildid: nonEmpty,
  s3: known,
  koji: known,
  "coreos-assembler.basearch": archName.optional(),
  "coreos-assembler.build-timestamp": known,
  "coreos-assembler.oci-imported": known,
  "coreos-assembler.oci-imported-labels": z.record(z.string(), z.string()).optional(),
  "coreos-assembler.code-source": known,
  "coreos-assembler.config-dirty": known,
  "coreos-assembler.config-gitrev": known,
  "coreos-assembler.config-variant": known,
  "coreos-assembler.container-config-git": z
    .looseObject({
      commit: z.string(),
      origin: z.string(),
      branch: z.string().optional(),
      dirty: z.string().optional(),
    })
    .optional(),
  "coreos-assembler.container-image-git": known,
  "coreos-assembler.delayed-meta-merge": known,
  "coreos-assembler.yumrepos-git": known,
  "coreos-assembler.meta-stamp": known,
  "fedora-coreos.parent-version": known,
  "fedora-coreos.parent-commit": known,
  "coreos-assembler.image-config-checksum": known,
  "coreos-assembler.image-genver": known,
  "coreos-assembler.image-input-checksum": known,
  "coreos-assembler.overrides-active": known,
  images: z.record(z.string(), buildArtifact).optional(),
  name: nonEmpty,
  oscontainer: containerImage.optional(),
  extensions: known,
  "ostree-commit": sha256,
  "ostree-content-bytes-written": known,
  "ostree-content-checksum": known,
  "ostree-n-cache-hits": known,
  "ostree-n-content-total": known,
  "ostree-n-content-written": known,
  "ostree-n-metadata-total": known,
  "ostree-n-metadata-written": known,
  "ostree-timestamp": nonEmpty,
  "ostree-version": nonEmpty,
  pkgdiff: known,
  "parent-pkgdiff": known,
  "advisories-diff": known,
  "parent-advisories-diff": known,
  "rpm-ostree-inputhash": known,
  summary: known,
  aliyun: z.array(z.looseObject({ name: regionName, id: nonEmpty })).optional(),
  amis: z.array(amiEntry).optional(),
  "aws-winli": z.array(amiEntry).optional(),
  azure: cloudObject.optional(),
  "base-oscontainer": containerImage.optional(),
  "extensions-container": known,
  gcp: z
    .looseObject({
      image: nonEmpty,
      url: httpUrl,
      project: z.string().optional(),
      family: z.string().optional(),
    })
    .optional(),
  kubevirt: containerImage.optional(),
  ibmcloud: z.array(cloudObject).optional(),
  powervs: z.array(cloudObject).optional(),
  "release-payload": known,
});

export type BuildMeta = z.infer<typeof buildMetaSchema>;
export type BuildArtifact = z.infer<typeof buildArtifact>;
