/**
 * Carrying a stream in an OCI image: build it into a layout, push it to a registry, and get
 * the stream (or just its summary from the annotations) back from either. Images come from
 * peers that may be hostile: every document is parsed with a schema, every blob is read
 * within a cap and checked against its descriptor, the layer inflates within a cap, and
 * the stream is taken from exactly one regular-file entry at exactly one path.
 */
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import {
  type Descriptor,
  type ImageManifest,
  MAX_CONFIG_BYTES,
  MAX_LAYER_BYTES,
  manifestSchema,
  parseOciJson,
  shown,
} from "./documents.ts";
import {
  ANNOTATIONS,
  type Blob,
  CONFIG_TYPES,
  CONFIGMAP_PATH,
  INDEX_TYPES,
  LAYER_TYPES,
  MANIFEST_TYPES,
  MEDIA_TYPES,
  STREAM_DIR,
  type StreamImage,
} from "./image.ts";
import { parseLayoutArg, readLayoutBlob, readLayoutManifest } from "./layout.ts";
import { parseReference, RegistryClient, type RegistryOptions } from "./registry.ts";
import { readTarEntries, type TarRecord } from "./tar.ts";

export interface OpenedImage {
  /** Where it came from, for messages. */
  location: string;
  manifest: ImageManifest;
  manifestDigest: string;
  /** The blob `descriptor` names, at most `max` bytes, checked against its size and digest. */
  blob(descriptor: Descriptor, max: number, what: string): Promise<Blob>;
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
      blob: (d, max, what) => readLayoutBlob(dir, d, max, what),
    };
  }
  const ref = parseReference(source);
  const client = new RegistryClient(ref.registry, options);
  const blob = await client.getManifest(ref.repository, ref.reference);
  const served = blob.mediaType;
  if (INDEX_TYPES.has(served))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${source} is an image index, expected a stream image manifest`,
    );
  const manifest = parseOciJson(blob.bytes, manifestSchema, `the manifest of ${source}`);
  const declared = manifest.mediaType;
  // The type the registry serves and the one the manifest declares must agree: a manifest
  // that is one thing to us and another to the next tool is refused.
  if (declared !== undefined && MANIFEST_TYPES.has(served) && declared !== served)
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `the manifest of ${source} says /mediaType ${shown(declared)} but was served as ${shown(served)}`,
    );
  const type = MANIFEST_TYPES.has(served) ? served : declared;
  if (type === undefined || !MANIFEST_TYPES.has(type))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${source} is not an image manifest (media type ${shown(type ?? served)})`,
    );
  return {
    location: source,
    manifest,
    manifestDigest: blob.digest,
    blob: (d, max, what) => client.getBlob(ref.repository, d, max, what),
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

/** The layer as a tar archive: gzip inflated within MAX_LAYER_BYTES (a bomb stops at the cap). */
function layerTar(image: OpenedImage, layer: Descriptor, blob: Blob): Buffer {
  if (!LAYER_TYPES.get(layer.mediaType)) return blob.bytes;
  try {
    return gunzipSync(blob.bytes, { maxOutputLength: MAX_LAYER_BYTES });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new BootstreamError(
        "TOO_LARGE",
        `the layer of ${image.location} inflates to more than ${MAX_LAYER_BYTES} bytes, larger than a stream image's`,
        { cause },
      );
    throw new BootstreamError("INVALID_DOCUMENT", `the layer of ${image.location} is not gzip data`, {
      cause,
    });
  }
}

/** `a/./b//c/` -> `a/b/c`: the path an extractor writes, for comparing entries. */
function normalEntryPath(path: string): string {
  return path
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/**
 * The one regular-file entry at `wanted` (a normal path), or undefined when there is none.
 * Refused: several entries at that path (an extractor keeps the last, we would not know
 * which one a cluster sees), a link or anything but a regular file there, and a link or
 * file where one of its parent directories should be.
 */
function pickEntry(entries: readonly TarRecord[], wanted: string, location: string): TarRecord | undefined {
  const refuse = (why: string) =>
    new BootstreamError(
      "INVALID_DOCUMENT",
      `the layer of ${location} ${why}, refusing to guess which is /${wanted}`,
    );
  const found = entries.filter((e) => normalEntryPath(e.path) === wanted);
  if (found.length > 1) throw refuse(`has ${found.length} entries at /${wanted}`);
  const entry = found[0];
  if (entry !== undefined && entry.type !== "0")
    throw refuse(
      `has a ${entry.type === "2" ? "symlink" : entry.type === "1" ? "hard link" : `type ${shown(entry.type)} entry`} at /${wanted}`,
    );
  for (const e of entries) {
    const path = normalEntryPath(e.path);
    if (wanted.startsWith(`${path}/`) && e.type !== "5")
      throw refuse(`has a non-directory entry at /${path}`);
  }
  return entry;
}

/** The tar entries of the layer; an entry that climbs out of the image root refuses the whole layer. */
function layerEntries(tar: Buffer, location: string): TarRecord[] {
  const entries = readTarEntries(tar);
  for (const e of entries) {
    if (e.path.startsWith("/") || e.path.split("/").includes(".."))
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `the layer of ${location} has an entry ${shown(e.path)} outside the image root`,
      );
  }
  return entries;
}

/** The path of the stream file: the manifest's path annotation, else the one stream file the layer holds. */
function streamPath(image: OpenedImage, entries: readonly TarRecord[]): { path: string; name: string } {
  const byName = (path: string) => new RegExp(`^${STREAM_DIR}/([^/]+)\\.json$`).exec(path)?.[1];
  const annotated = image.manifest.annotations?.[ANNOTATIONS.path];
  if (annotated !== undefined) {
    const name = byName(annotated.replace(/^\//, ""));
    if (!annotated.startsWith("/") || name === undefined || !isStreamName(name))
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${image.location}: annotation ${ANNOTATIONS.path} is ${shown(annotated)}, expected /${STREAM_DIR}/<name>.json with ${STREAM_NAME_EXPECTATION}`,
      );
    return { path: `${STREAM_DIR}/${name}.json`, name };
  }
  const paths = [
    ...new Set(
      entries
        .filter((e) => e.type === "0")
        .map((e) => normalEntryPath(e.path))
        .filter((p) => byName(p) !== undefined),
    ),
  ];
  if (paths.length === 0)
    throw new BootstreamError("NOT_FOUND", `${image.location} holds no /${STREAM_DIR}/*.json`);
  if (paths.length > 1)
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location} holds ${paths.length} stream files and its manifest names none (${ANNOTATIONS.path})`,
    );
  const path = paths[0] as string;
  const name = byName(path) as string;
  if (!isStreamName(name))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location}: ${shown(`/${path}`)} is not a stream file name`,
    );
  return { path, name };
}

/** Pulls the layer (every blob verified) and returns the stream file it holds. */
export async function extractStream(image: OpenedImage): Promise<ExtractedStream> {
  const { config, layers } = image.manifest;
  const layer = layers[0];
  if (layer === undefined || layers.length !== 1) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location} is not a stream image: expected one layer, found ${layers.length}`,
    );
  }
  if (!CONFIG_TYPES.has(config.mediaType))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location}: /config/mediaType is ${shown(config.mediaType)}, expected ${MEDIA_TYPES.config}`,
    );
  if (!LAYER_TYPES.has(layer.mediaType))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location}: /layers/0/mediaType is ${shown(layer.mediaType)}, expected ${[...LAYER_TYPES.keys()].join(" or ")}`,
    );
  await image.blob(config, MAX_CONFIG_BYTES, "config");
  const blob = await image.blob(layer, MAX_LAYER_BYTES, "layer");
  const entries = layerEntries(layerTar(image, layer, blob), image.location);
  const { path, name } = streamPath(image, entries);
  const stream = pickEntry(entries, path, image.location);
  if (stream === undefined) throw new BootstreamError("NOT_FOUND", `${image.location} holds no /${path}`);
  const configMap = pickEntry(entries, CONFIGMAP_PATH, image.location);
  return {
    name,
    stream: stream.body.toString("utf8"),
    ...(configMap ? { configMap: configMap.body.toString("utf8") } : {}),
    manifestDigest: image.manifestDigest,
  };
}

export interface StreamInfo {
  stream: string | undefined;
  lastModified: string | undefined;
  releases: Record<string, string>;
  manifestDigest: string;
}

/** Annotation values end up on a terminal: printable, no spaces or control characters. */
const printable = z.string().regex(/^[\x21-\x7e]{1,128}$/, { error: "printable characters without spaces" });
const releasesSchema = z.record(printable, printable);

/** What the manifest annotations say, without pulling any layer. */
export function streamInfo(image: OpenedImage): StreamInfo {
  const a = image.manifest.annotations ?? {};
  const stream = a[ANNOTATIONS.stream];
  if (stream === undefined) {
    throw new BootstreamError(
      "NOT_FOUND",
      `${image.location} carries no ${ANNOTATIONS.stream} annotation: not a bootstream image`,
    );
  }
  const bad = (annotation: string, expected: string) =>
    new BootstreamError(
      "INVALID_DOCUMENT",
      `${image.location}: annotation ${annotation} is ${shown(a[annotation] ?? "")}, expected ${expected}`,
    );
  if (!isStreamName(stream)) throw bad(ANNOTATIONS.stream, STREAM_NAME_EXPECTATION);
  const lastModified = a[ANNOTATIONS.lastModified];
  if (lastModified !== undefined && !printable.safeParse(lastModified).success)
    throw bad(ANNOTATIONS.lastModified, "an RFC 3339 time");
  let releases: Record<string, string>;
  try {
    releases = releasesSchema.parse(JSON.parse(a[ANNOTATIONS.releases] ?? "{}"));
  } catch {
    throw bad(ANNOTATIONS.releases, "a JSON object of architecture -> release version");
  }
  return { stream, lastModified, releases, manifestDigest: image.manifestDigest };
}

export { MEDIA_TYPES };
