/** A stream at a glance: one row per (architecture, platform, format) and one per image platform. */
import type { Stream } from "../schema/stream.ts";
import { listArtifacts, listImages } from "./index.ts";

export interface StreamListing {
  stream: string;
  lastModified: string;
  artifacts: { architecture: string; platform: string; format: string; files: string[]; release: string }[];
  images: { architecture: string; platform: string; regions: number; release: string; image?: string }[];
}

/** One row per (arch, platform, format) and one per image platform (what `bootstream list` shows). */
export function summarizeStream(stream: Stream): StreamListing {
  const artifacts: StreamListing["artifacts"] = [];
  for (const ref of listArtifacts(stream)) {
    const last = artifacts.at(-1);
    if (
      last &&
      last.architecture === ref.architecture &&
      last.platform === ref.platform &&
      last.format === ref.format
    ) {
      last.files.push(ref.kind);
    } else {
      artifacts.push({
        architecture: ref.architecture,
        platform: ref.platform,
        format: ref.format,
        files: [ref.kind],
        release: ref.release,
      });
    }
  }
  const images: StreamListing["images"] = [];
  for (const architecture of Object.keys(stream.architectures).sort()) {
    const all = listImages(stream, { architecture });
    for (const platform of [...new Set(all.map((i) => i.platform))]) {
      const of = all.filter((i) => i.platform === platform);
      const first = of[0];
      const regional = of.some((i) => i.region !== undefined);
      const releases = [...new Set(of.map((i) => i.release ?? ""))].join(",");
      const image = regional ? undefined : (first?.image ?? first?.name ?? first?.url);
      images.push({
        architecture,
        platform,
        regions: regional ? of.length : 0,
        release: releases,
        ...(image ? { image } : {}),
      });
    }
  }
  return { stream: stream.stream, lastModified: stream.metadata["last-modified"], artifacts, images };
}
