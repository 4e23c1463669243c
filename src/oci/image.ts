/**
 * An OCI image that carries a stream: one gzip layer holding the stream JSON at
 * /usr/share/bootstream/<name>.json and the coreos-bootimages ConfigMap at
 * /manifests/coreos-bootimages.yaml, an image config labelled
 * io.openshift.release.operator=true (so release tooling collects its /manifests/), and
 * manifest annotations that name the stream, its date and the releases per architecture
 * (so `oci stream-info` needs no layer). Reproducible: fixed tar headers, gzip without a
 * timestamp, created = the stream's last-modified, so the same stream gives the same digests.
 */
import { gzipSync } from "node:zlib";
import { ANY } from "../canonical/layout.ts";
import { writeCanonical } from "../canonical/write.ts";
import { BootstreamError } from "../errors.ts";
import { sha256Digest } from "../files/hash.ts";
import { streamConfigMap } from "../kube/configmap.ts";
import { newestReleases } from "../query/releases.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import type { Stream } from "../schema/stream.ts";
import { writeTar } from "./tar.ts";

export const MEDIA_TYPES = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  tarLayer: "application/vnd.oci.image.layer.v1.tar",
} as const;

/** What a stream image may be made of; anything else is refused rather than guessed at. */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPES.manifest,
  MEDIA_TYPES.dockerManifest,
]);
export const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.index, MEDIA_TYPES.dockerManifestList]);
export const CONFIG_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.config, MEDIA_TYPES.dockerConfig]);
/** Layer media type -> whether it is gzip-compressed. */
export const LAYER_TYPES: ReadonlyMap<string, boolean> = new Map([
  [MEDIA_TYPES.layer, true],
  [MEDIA_TYPES.dockerLayer, true],
  [MEDIA_TYPES.tarLayer, false],
]);

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
    digest: sha256Digest(bytes),
    size: bytes.byteLength,
    bytes,
  };
}

const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });

/** Compact JSON with byte-sorted object keys, so equal data always gives equal bytes. */
function stableJson(value: unknown): string {
  return writeCanonical(value, ANY, { indent: 0, finalNewline: false });
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
  // The name becomes a layer entry (usr/share/bootstream/<name>.json): checked here too, not
  // only by the schema, so no caller can put a `../` or odd entry into a layer.
  if (options.name !== undefined && !isStreamName(options.name))
    throw new BootstreamError(
      "USAGE",
      `${JSON.stringify(options.name)} is not a name for the stream file: expected ${STREAM_NAME_EXPECTATION}`,
    );
  if (!isStreamName(stream.stream))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `/stream: expected ${STREAM_NAME_EXPECTATION}, found ${JSON.stringify(stream.stream)}`,
      { path: "/stream" },
    );
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
  const diffId = sha256Digest(tar);
  const releases = stableJson(newestReleases(stream));
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

export { descriptor };
