/**
 * Carrying a stream in an OCI image: build it into a layout, push it to a registry, and get
 * the stream (or just its summary from the annotations) back from either.
 */
import { gunzipSync } from "node:zlib";
import { BootstreamError } from "../errors.ts";
import {
  ANNOTATIONS,
  type Blob,
  CONFIGMAP_PATH,
  type ManifestJson,
  MEDIA_TYPES,
  STREAM_DIR,
  type StreamImage,
} from "./image.ts";
import { parseLayoutArg, readLayoutBlob, readLayoutManifest } from "./layout.ts";
import { parseReference, RegistryClient, type RegistryOptions } from "./registry.ts";
import { readTar } from "./tar.ts";

export interface OpenedImage {
  /** Where it came from, for messages. */
  location: string;
  manifest: ManifestJson;
  manifestDigest: string;
  blob(descriptor: { digest: string; mediaType: string }): Promise<Blob>;
}

/** `oci:DIR[:TAG]` (an image layout) or a registry reference. */
export async function openImage(source: string, options: RegistryOptions = {}): Promise<OpenedImage> {
  if (source.startsWith("oci:")) {
    const { dir, tag } = parseLayoutArg(source.slice(4), "");
    const { blob, manifest } = await readLayoutManifest(dir, tag === "" ? undefined : tag);
    return {
      location: source,
      manifest,
      manifestDigest: blob.digest,
      blob: (d) => readLayoutBlob(dir, d.digest, d.mediaType),
    };
  }
  const ref = parseReference(source);
  const client = new RegistryClient(ref.registry, options);
  const blob = await client.getManifest(ref.repository, ref.reference);
  const manifest = JSON.parse(blob.bytes.toString("utf8")) as ManifestJson & { manifests?: unknown };
  if (manifest.manifests !== undefined || blob.mediaType.includes("index")) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${source} is an image index, expected a stream image manifest`,
    );
  }
  return {
    location: source,
    manifest,
    manifestDigest: blob.digest,
    blob: (d) => client.getBlob(ref.repository, d.digest, d.mediaType),
  };
}

export async function pushImage(
  image: StreamImage,
  reference: string,
  options: RegistryOptions = {},
): Promise<{ digest: string; blobsSent: number }> {
  const ref = parseReference(reference);
  if (ref.reference.startsWith("sha256:"))
    throw new BootstreamError("USAGE", `push needs a tag, not a digest: ${reference}`);
  const client = new RegistryClient(ref.registry, options);
  let sent = 0;
  for (const blob of [image.layer, image.config]) if (await client.pushBlob(ref.repository, blob)) sent++;
  const digest = await client.putManifest(ref.repository, ref.reference, image.manifest);
  return { digest, blobsSent: sent };
}

export interface ExtractedStream {
  name: string;
  /** The stream JSON exactly as the image holds it. */
  stream: string;
  /** The ConfigMap manifest the image carries, if any. */
  configMap?: string;
  manifestDigest: string;
}

/** Pulls the layer (every blob verified) and returns the stream file it holds. */
export async function extractStream(image: OpenedImage): Promise<ExtractedStream> {
  const layer = image.manifest.layers[0];
  if (layer === undefined || image.manifest.layers.length !== 1) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location} is not a stream image: expected one layer, found ${image.manifest.layers.length}`,
    );
  }
  await image.blob(image.manifest.config);
  const blob = await image.blob(layer);
  let tar: Buffer;
  try {
    tar =
      layer.mediaType.endsWith("+gzip") || layer.mediaType.endsWith(".tar.gzip")
        ? gunzipSync(blob.bytes)
        : blob.bytes;
  } catch (cause) {
    throw new BootstreamError("INVALID_DOCUMENT", `the layer of ${image.location} is not gzip data`, {
      cause,
    });
  }
  const files = readTar(tar);
  const wanted = image.manifest.annotations?.[ANNOTATIONS.path]?.replace(/^\//, "");
  const path =
    wanted && files.has(wanted)
      ? wanted
      : [...files.keys()].find((p) => p.startsWith(`${STREAM_DIR}/`) && p.endsWith(".json"));
  if (path === undefined)
    throw new BootstreamError("NOT_FOUND", `${image.location} holds no /${STREAM_DIR}/*.json`);
  const configMap = files.get(CONFIGMAP_PATH);
  return {
    name: path.slice(STREAM_DIR.length + 1, -".json".length),
    stream: (files.get(path) as Buffer).toString("utf8"),
    ...(configMap ? { configMap: configMap.toString("utf8") } : {}),
    manifestDigest: image.manifestDigest,
  };
}

export interface StreamInfo {
  stream: string | undefined;
  lastModified: string | undefined;
  releases: Record<string, string>;
  manifestDigest: string;
}

/** What the manifest annotations say, without pulling any layer. */
export function streamInfo(image: OpenedImage): StreamInfo {
  const a = image.manifest.annotations ?? {};
  let releases: Record<string, string> = {};
  try {
    releases = JSON.parse(a[ANNOTATIONS.releases] ?? "{}") as Record<string, string>;
  } catch {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location}: annotation ${ANNOTATIONS.releases} is not JSON`,
    );
  }
  if (a[ANNOTATIONS.stream] === undefined) {
    throw new BootstreamError(
      "NOT_FOUND",
      `${image.location} carries no ${ANNOTATIONS.stream} annotation: not a bootstream image`,
    );
  }
  return {
    stream: a[ANNOTATIONS.stream],
    lastModified: a[ANNOTATIONS.lastModified],
    releases,
    manifestDigest: image.manifestDigest,
  };
}

export { MEDIA_TYPES };
