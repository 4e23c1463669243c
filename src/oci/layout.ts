/**
 * OCI image layout directories (image-spec layout.md): oci-layout, index.json and
 * blobs/sha256/<hex>. Writing keeps other images of the index; reading verifies every blob
 * against its digest.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { BootstreamError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic.ts";
import { type Blob, descriptor, type ManifestJson, MEDIA_TYPES, type StreamImage } from "./image.ts";

const REF_NAME = "org.opencontainers.image.ref.name";

interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

/** `DIR[:TAG]` as the CLI takes it (a `:` after the last `/` starts the tag). */
export function parseLayoutArg(arg: string, defaultTag: string): { dir: string; tag: string } {
  const slash = arg.lastIndexOf("/");
  const colon = arg.lastIndexOf(":");
  if (colon > slash && colon > 0)
    return { dir: arg.slice(0, colon), tag: arg.slice(colon + 1) || defaultTag };
  return { dir: arg, tag: defaultTag };
}

function blobPath(dir: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new BootstreamError("INVALID_DOCUMENT", `unsupported digest ${digest}`);
  return join(dir, "blobs", "sha256", m[1] as string);
}

async function readIndex(dir: string): Promise<IndexJson | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as IndexJson;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${dir}/index.json is not readable JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export async function writeLayout(dir: string, image: StreamImage, tag: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const blob of [image.layer, image.config, image.manifest])
    await writeFileAtomic(blobPath(dir, blob.digest), blob.bytes);
  await writeFileAtomic(join(dir, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
  const index = (await readIndex(dir)) ?? { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] };
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
  index.manifests.push({ ...descriptor(image.manifest), annotations: { [REF_NAME]: tag } });
  await writeFileAtomic(join(dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
}

/** Reads a blob and checks that it hashes to its digest. */
export async function readLayoutBlob(
  dir: string,
  digest: string,
  mediaType = "application/octet-stream",
): Promise<Blob> {
  let bytes: Buffer;
  try {
    bytes = await readFile(blobPath(dir, digest));
  } catch (cause) {
    throw new BootstreamError("NOT_FOUND", `blob ${digest} is missing from ${dir}`, { cause });
  }
  const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (actual !== digest)
    throw new BootstreamError("CHECKSUM_MISMATCH", `blob ${digest} in ${dir} hashes to ${actual}`);
  return { mediaType, digest, size: bytes.byteLength, bytes };
}

/** The manifest tagged `tag` (or the only one) of a layout. */
export async function readLayoutManifest(
  dir: string,
  tag: string | undefined,
): Promise<{ blob: Blob; manifest: ManifestJson }> {
  const index = await readIndex(dir);
  if (index === undefined)
    throw new BootstreamError("NOT_FOUND", `${dir} is not an OCI image layout (no index.json)`);
  const candidates =
    tag === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
  const entry = candidates[0];
  if (entry === undefined || (tag === undefined && candidates.length > 1)) {
    const tags = index.manifests.map((m) => m.annotations?.[REF_NAME] ?? m.digest);
    throw new BootstreamError(
      "NOT_FOUND",
      `no ${tag === undefined ? "single image" : `image tagged ${tag}`} in ${dir}; it has ${tags.join(", ") || "none"}`,
    );
  }
  const blob = await readLayoutBlob(dir, entry.digest, entry.mediaType);
  return { blob, manifest: JSON.parse(blob.bytes.toString("utf8")) as ManifestJson };
}
