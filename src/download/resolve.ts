/** What `download` fetches: the files of an artifact chosen from a stream, or one URL. */
import { type ArtifactKind, findArtifacts } from "../query/index.ts";
import type { Stream } from "../schema/stream.ts";
import type { DownloadSource } from "./download.ts";
import { fileNameOf } from "./url-path.ts";

export interface ArtifactSelection {
  architecture: string;
  platform: string;
  format: string;
  kind?: ArtifactKind;
}

/** Every file of the selected format (PXE gives kernel, initramfs and rootfs). */
export function sourcesFromStream(stream: Stream, selection: ArtifactSelection): DownloadSource[] {
  return findArtifacts(stream, selection).map((ref) => ({
    url: ref.artifact.location,
    ...(ref.artifact.signature ? { signatureUrl: ref.artifact.signature } : {}),
    sha256: ref.artifact.sha256,
    pointer: `${ref.pointer}/location`,
    ...(ref.artifact["uncompressed-sha256"]
      ? { uncompressedSha256: ref.artifact["uncompressed-sha256"] }
      : {}),
  }));
}

/** A bare URL: its signature is expected beside it as URL.sig, as on the FCOS builds site. */
export function sourceFromUrl(url: string, sha256?: string): DownloadSource {
  fileNameOf(url); // a usage error naming the value, before anything is fetched
  return { url, signatureUrl: `${url}.sig`, ...(sha256 ? { sha256 } : {}) };
}
