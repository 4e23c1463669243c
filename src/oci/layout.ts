/**
 * OCI image layout directories (image-spec layout.md): oci-layout, index.json and
 * blobs/sha256/<hex>. Writing keeps other images of the index; reading verifies every blob
 * against its descriptor (digest and size). A layout may come from anyone: its documents are
 * parsed with schemas, blob paths are built only from strict digests, and only regular files
 * of bounded size are read (a FIFO or a link to /dev/zero would otherwise hang or fill memory).
 */
import { constants } from "node:fs";
import { type FileHandle, lstat, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { sha256Digest } from "../files/hash.ts";
import {
  type Descriptor,
  DIGEST_PATTERN,
  type ImageIndex,
  type ImageManifest,
  indexSchema,
  MAX_MANIFEST_BYTES,
  manifestSchema,
  parseOciJson,
  shown,
} from "./documents.ts";
import {
  type Blob,
  descriptor,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MEDIA_TYPES,
  type StreamImage,
} from "./image.ts";

const REF_NAME = "org.opencontainers.image.ref.name";

/** A tag as registries and `skopeo` take it: it goes into index.json and messages. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `DIR[:TAG]` as the CLI takes it (a `:` after the last `/` starts the tag); a bad tag is USAGE. */
export function parseLayoutArg(arg: string, defaultTag: string): { dir: string; tag: string } {
  const slash = arg.lastIndexOf("/");
  const colon = arg.lastIndexOf(":");
  const split = colon > slash && colon > 0;
  const dir = split ? arg.slice(0, colon) : arg;
  const tag = (split ? arg.slice(colon + 1) : "") || defaultTag;
  if (tag !== "" && !TAG_PATTERN.test(tag))
    throw new BootstreamError(
      "USAGE",
      `${shown(tag)} is not an image tag: expected letters, digits, _ . - (at most 128, not starting with . or -)`,
    );
  return { dir, tag };
}

function blobPath(dir: string, digest: string): string {
  // Schemas check digests already; this is the last line before a path is built from one.
  if (!DIGEST_PATTERN.test(digest))
    throw new BootstreamError("INVALID_DOCUMENT", `unsupported digest ${shown(digest)} in ${dir}`);
  return join(dir, "blobs", "sha256", digest.slice("sha256:".length));
}

/**
 * The bytes of a regular file of at most `max` bytes, or undefined when it does not exist.
 * O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
 */
async function readRegularFile(path: string, max: number, what: string): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BootstreamError("IO", `cannot open ${what}: ${(cause as Error).message}`, { path, cause });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new BootstreamError("INVALID_DOCUMENT", `${what} is not a regular file`, { path });
    if (info.size > max)
      throw new BootstreamError("TOO_LARGE", `${what} is ${info.size} bytes, more than the ${max} allowed`, {
        path,
      });
    // Read one byte past the size stat gave: a file growing under us is refused, not followed.
    const buffer = Buffer.alloc(info.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > info.size) throw new BootstreamError("IO", `${what} changed while it was read`, { path });
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

async function readIndex(dir: string): Promise<ImageIndex | undefined> {
  const path = join(dir, "index.json");
  const bytes = await readRegularFile(path, MAX_MANIFEST_BYTES, path);
  return bytes === undefined ? undefined : parseOciJson(bytes, indexSchema, path);
}

/** `dir/blobs/sha256`, created as real directories: a planted symlink would send our blobs elsewhere. */
async function blobDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let path = dir;
  for (const part of ["blobs", "sha256"]) {
    path = join(path, part);
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) await mkdir(path);
    else if (!info.isDirectory() || info.isSymbolicLink())
      throw new BootstreamError("IO", `refusing to write into ${path}: it is not a directory (a link?)`, {
        path,
      });
  }
}

export async function writeLayout(dir: string, image: StreamImage, tag: string): Promise<void> {
  if (!TAG_PATTERN.test(tag)) throw new BootstreamError("USAGE", `${shown(tag)} is not an image tag`);
  // Read (and so validate) the index before writing anything: a broken one is reported, not replaced.
  const index = (await readIndex(dir)) ?? { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] };
  await blobDirectory(dir);
  for (const blob of [image.layer, image.config, image.manifest])
    await writeFileAtomic(blobPath(dir, blob.digest), blob.bytes);
  await writeFileAtomic(join(dir, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
  index.manifests.push({ ...descriptor(image.manifest), annotations: { [REF_NAME]: tag } });
  await writeFileAtomic(join(dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
}

/** Reads the blob `d` names (at most `max` bytes) and checks its size and digest. */
export async function readLayoutBlob(dir: string, d: Descriptor, max: number, what: string): Promise<Blob> {
  if (d.size > max)
    throw new BootstreamError(
      "TOO_LARGE",
      `${what} ${d.digest} in ${dir} is ${d.size} bytes by its descriptor, more than the ${max} allowed`,
    );
  const path = blobPath(dir, d.digest);
  const bytes = await readRegularFile(path, max, `${what} ${d.digest} in ${dir}`);
  if (bytes === undefined)
    throw new BootstreamError("NOT_FOUND", `${what} ${d.digest} is missing from ${dir}`);
  if (bytes.byteLength !== d.size)
    throw new BootstreamError(
      "CHECKSUM_MISMATCH",
      `${what} ${d.digest} in ${dir} is ${bytes.byteLength} bytes, its descriptor says ${d.size}`,
    );
  const actual = sha256Digest(bytes);
  if (actual !== d.digest)
    throw new BootstreamError("CHECKSUM_MISMATCH", `${what} ${d.digest} in ${dir} hashes to ${actual}`);
  return { mediaType: d.mediaType, digest: d.digest, size: bytes.byteLength, bytes };
}

/** The manifest tagged `tag` (or the only one) of a layout. */
export async function readLayoutManifest(
  dir: string,
  tag: string | undefined,
): Promise<{ blob: Blob; manifest: ImageManifest }> {
  const index = await readIndex(dir);
  if (index === undefined)
    throw new BootstreamError("NOT_FOUND", `${dir} is not an OCI image layout (no index.json)`);
  const candidates =
    tag === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
  const entry = candidates[0];
  if (entry === undefined || (tag === undefined && candidates.length > 1)) {
    const tags = index.manifests.map((m) => shown(m.annotations?.[REF_NAME] ?? m.digest));
    throw new BootstreamError(
      "NOT_FOUND",
      `no ${tag === undefined ? "single image" : `image tagged ${tag}`} in ${dir}; it has ${tags.join(", ") || "none"}`,
    );
  }
  const what = `manifest ${entry.digest} in ${dir}`;
  if (INDEX_TYPES.has(entry.mediaType))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${what} is an image index, expected a stream image manifest`,
    );
  if (!MANIFEST_TYPES.has(entry.mediaType))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${dir}/index.json: the image has media type ${shown(entry.mediaType)}, expected an image manifest`,
    );
  const blob = await readLayoutBlob(dir, entry, MAX_MANIFEST_BYTES, "manifest");
  const manifest = parseOciJson(blob.bytes, manifestSchema, what);
  if (manifest.mediaType !== undefined && manifest.mediaType !== entry.mediaType)
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${what}: /mediaType is ${shown(manifest.mediaType)}, but index.json names it ${shown(entry.mediaType)}`,
    );
  return { blob, manifest };
}
