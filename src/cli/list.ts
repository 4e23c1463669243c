/** `bootstream list`: everything a stream offers, as a table or JSON. */
import { Command } from "commander";
import { summarizeStream } from "../query/summary.ts";
import { printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withTrustOptions } from "./options.ts";
import { renderTable, toJsonText } from "./render.ts";

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
