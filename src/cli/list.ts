/** `bootstream list`: everything a stream offers, as a table or JSON. */
import { Command } from "commander";
import { listArtifacts, listImages } from "../query/index.ts";
import type { Stream } from "../schema/stream.ts";
import { printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withTrustOptions } from "./options.ts";
import { renderTable, toJsonText } from "./render.ts";

export interface StreamListing {
  stream: string;
  lastModified: string;
  artifacts: { architecture: string; platform: string; format: string; files: string[]; release: string }[];
  images: { architecture: string; platform: string; regions: number; release: string; image?: string }[];
}

/** One row per (arch, platform, format) and one per image platform. */
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

export function registerList(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    new Command("list")
      .description("list every artifact and cloud image of a stream")
      .argument("<source>", "stream file, -, URL or stream name")
      .option("--json", "print the listing as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Examples:
  bootstream list stable.json
  bootstream list --json stable.json | jq '.artifacts[] | select(.platform == "metal")'`,
      )
      .action((source: string, opts: { json?: boolean; streamBaseUrl?: string }) =>
        kit.run(opts.json, async () => {
          const { stream } = await loadStream(source, streamSourceOptions(ctx, opts));
          const listing = summarizeStream(stream);
          if (opts.json) {
            ctx.stdout.write(toJsonText(listing));
            return 0;
          }
          writeLine(
            ctx.stdout,
            `stream ${printable(listing.stream)}, last modified ${printable(listing.lastModified)}`,
          );
          writeLine(ctx.stdout);
          writeLine(
            ctx.stdout,
            renderTable(
              ["ARCH", "PLATFORM", "FORMAT", "FILES", "RELEASE"],
              listing.artifacts.map((a) =>
                [a.architecture, a.platform, a.format, a.files.join(","), a.release].map(printable),
              ),
            ),
          );
          if (listing.images.length > 0) {
            writeLine(ctx.stdout);
            writeLine(
              ctx.stdout,
              renderTable(
                ["ARCH", "IMAGES", "REGIONS", "RELEASE", "IMAGE"],
                listing.images.map((i) =>
                  [
                    i.architecture,
                    i.platform,
                    i.regions > 0 ? String(i.regions) : "-",
                    i.release,
                    i.image ?? "",
                  ].map(printable),
                ),
              ),
            );
          }
          return 0;
        }),
      ),
  );
}
