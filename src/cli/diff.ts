/** `bootstream diff OLD NEW`: what changed between two streams (or releases), for review. */
import { Command } from "commander";
import { diffJson } from "../diff/index.ts";
import { renderDiffSummary, summarizeDiff } from "../diff/summary.ts";
import { BootstreamError } from "../errors.ts";
import { KINDS } from "../schema/documents.ts";
import { printable } from "../schema/text.ts";
import { loadDocument } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withTrustOptions } from "./options.ts";
import { toJsonText } from "./render.ts";

export function registerDiff(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    new Command("diff")
      .description("compare two streams (or releases, or any two documents of one kind)")
      .argument("<old>", "the document before")
      .argument("<new>", "the document after")
      .option("--json", "print the differences as [{op, path, old, new}] with JSON pointers")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
The text output summarises per architecture: release changes (x86_64: A -> B), platforms,
formats, files, image platforms and regions added or removed, and counts of changed URLs,
digests and images. --json lists every change; applying it to OLD gives NEW.
Exit status: 0 identical, 1 different, 2 error.

Examples:
  bootstream diff old/stable.json stable.json
  git show origin/main:stable.json > /tmp/base.json && bootstream diff /tmp/base.json stable.json
  bootstream diff --json rhcos-4.16.json rhcos-4.17.json | jq '.[] | select(.op == "remove")'

With --stream-key both sides must be signed; to review an unsigned candidate against the
published stream, use: bootstream lint --previous URL --stream-key KEY candidate.json`,
      )
      .action((oldSource: string, newSource: string, opts: { json?: boolean; streamBaseUrl?: string }) =>
        kit.run(opts.json, async () => {
          const read = streamSourceOptions(ctx, opts);
          const before = (await loadDocument(oldSource, read)).document;
          const after = (await loadDocument(newSource, read)).document;
          if (before.kind !== after.kind) {
            throw new BootstreamError(
              "USAGE",
              `cannot compare ${KINDS[before.kind].title} with ${KINDS[after.kind].title}`,
            );
          }
          const ops = diffJson(before.data, after.data);
          if (opts.json) ctx.stdout.write(toJsonText(ops));
          else if (ops.length > 0) {
            if (before.kind === "stream" || before.kind === "release") {
              const lines = renderDiffSummary(summarizeDiff(ops)).split("\n");
              writeLine(ctx.stdout, lines.map(printable).join("\n"));
            } else for (const op of ops) writeLine(ctx.stdout, `${op.op} ${printable(op.path || "/")}`);
          }
          return ops.length === 0 ? 0 : 1;
        }),
      ),
  );
}
