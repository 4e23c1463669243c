/**
 * An OCI image that carries a stream: one gzip layer holding the stream JSON at
 * /usr/share/bootstream/<name>.json and the coreos-bootimages ConfigMap at
 * /manifests/coreos-bootimages.yaml, an image config labelled
 * io.openshift.release.operator=true (so release tooling collects its /manifests/), and
 * manifest annotations that name the stream, its date and the releases per architecture
 * (so `oci stream-info` needs no layer). Reproducible: fixed tar headers, gzip without a
 * timestamp, created = the stream's last-modified, so the same stream gives the same digests.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { compareKeys } from "../canonical/layout.ts";
import { streamConfigMap } from "../kube/configmap.ts";
import { releasesOf } from "../publish/history.ts";
import type { Stream } from "../schema/stream.ts";
import { writeTar } from "./tar.ts";

export const MEDIA_TYPES = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

export const ANNOTATIONS = {
  stream: "io.coreos.bootstream.stream",
  lastModified: "io.coreos.bootstream.last-modified",
  releases: "io.coreos.bootstream.releases",
  path: "io.coreos.bootstream.path",
} as const;

export const STREAM_DIR = "usr/share/bootstream";
export const CONFIGMAP_PATH = "manifests/coreos-bootimages.yaml";

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface StreamImage {
  manifest: Blob;
  config: Blob;
  layer: Blob;
  annotations: Record<string, string>;
}

export function blobOf(mediaType: string, bytes: Buffer): Blob {
  return {
    mediaType,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    size: bytes.byteLength,
    bytes,
  };
}

const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });

/** JSON with sorted object keys, so equal data always gives equal bytes. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareKeys(a, b)))
      : v,
  );
}

export interface BuildImageOptions {
  /** File name under /usr/share/bootstream (default: the stream's name). */
  name?: string;
  /** Image config architecture; the layer is data only, so any platform can pull it. */
  architecture?: string;
}

export function buildStreamImage(
  stream: Stream,
  streamJson: string,
  options: BuildImageOptions = {},
): StreamImage {
  const name = options.name ?? stream.stream;
  const created = stream.metadata["last-modified"];
  const mtime = Math.floor(Date.parse(created) / 1000);
  const streamPath = `${STREAM_DIR}/${name}.json`;
  const tar = writeTar(
    [
      { path: "manifests/" },
      { path: CONFIGMAP_PATH, body: Buffer.from(streamConfigMap(streamJson)) },
      { path: "usr/" },
      { path: "usr/share/" },
      { path: `${STREAM_DIR}/` },
      { path: streamPath, body: Buffer.from(streamJson) },
    ],
    mtime,
  );
  const layer = blobOf(MEDIA_TYPES.layer, gzipSync(tar, { level: 9 }));
  const diffId = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
  const releases = stableJson(releasesOf(stream));
  const labels = {
    "io.openshift.release.operator": "true",
    [ANNOTATIONS.stream]: name,
    [ANNOTATIONS.lastModified]: created,
    [ANNOTATIONS.releases]: releases,
  };
  const config = blobOf(
    MEDIA_TYPES.config,
    Buffer.from(
      stableJson({
        architecture: options.architecture ?? "amd64",
        config: { Labels: labels },
        created,
        history: [{ created, created_by: "bootstream oci build", comment: `stream ${name}` }],
        os: "linux",
        rootfs: { diff_ids: [diffId], type: "layers" },
      }),
    ),
  );
  const annotations: Record<string, string> = {
    "org.opencontainers.image.created": created,
    "org.opencontainers.image.title": `CoreOS boot images: ${name}`,
    "org.opencontainers.image.description": `Stream metadata ${name} (${CONFIGMAP_PATH}, /${streamPath})`,
    [ANNOTATIONS.stream]: name,
    [ANNOTATIONS.lastModified]: created,
    [ANNOTATIONS.releases]: releases,
    [ANNOTATIONS.path]: `/${streamPath}`,
  };
  const manifest = blobOf(
    MEDIA_TYPES.manifest,
    Buffer.from(
      stableJson({
        annotations,
        config: descriptor(config),
        layers: [descriptor(layer)],
        mediaType: MEDIA_TYPES.manifest,
        schemaVersion: 2,
      }),
    ),
  );
  return { manifest, config, layer, annotations };
}

export interface ManifestJson {
  mediaType?: string;
  config: { digest: string; size: number; mediaType: string };
  layers: { digest: string; size: number; mediaType: string }[];
  annotations?: Record<string, string>;
}

export { descriptor };
