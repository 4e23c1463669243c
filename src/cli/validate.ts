/** `bootstream validate`: check many documents in one run, one line per problem. */
import { Command, Option } from "commander";
import { type BootstreamError, ERROR_CODES, toBootstreamError } from "../errors.ts";
import { DOCUMENT_KINDS, type DocumentKind } from "../schema/documents.ts";
import { checkDocument } from "../schema/parse.ts";
import { printable } from "../schema/text.ts";
import { readSources } from "../source/many.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withTrustOptions } from "./options.ts";
import { toJsonText } from "./render.ts";

interface ValidateResult {
  source: string;
  kind?: DocumentKind;
  valid: boolean;
  issues: { pointer: string; message: string; line?: number; column?: number }[];
  error?: ReturnType<BootstreamError["toJSON"]>;
}

export function registerValidate(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    new Command("validate")
      .description("check documents against their schema (kind detected, or --kind)")
      .argument("<source...>", "files, - for stdin, http(s) URLs or stream names")
      .addOption(new Option("--kind <kind>", "document kind instead of detecting it").choices(DOCUMENT_KINDS))
      .option("--strict", "also report fields no schema knows")
      .option("--json", "print results as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Each problem is printed on its own line as FILE: /json/pointer: expected ..., found ...
Exit status: 0 all valid, 1 any invalid, 2 any source unreadable.

Examples:
  bootstream validate stable.json next.json testing.json
  curl -s https://example.com/stable.json | bootstream validate -
  bootstream validate --kind updates --json updates/stable.json`,
      )
      .action(
        (
          sources: string[],
          opts: { kind?: DocumentKind; strict?: boolean; json?: boolean; streamBaseUrl?: string },
        ) =>
          kit.run(opts.json, async () => {
            const results: ValidateResult[] = [];
            for await (const item of readSources(sources, streamSourceOptions(ctx, opts))) {
              if ("error" in item) {
                const error = toBootstreamError(item.error);
                results.push({ source: item.source, valid: false, issues: [], error: error.toJSON() });
                if (!opts.json) writeLine(ctx.stderr, `bootstream: ${printable(error.message)}`);
                continue;
              }
              try {
                const check = checkDocument(item.bytes, {
                  ...(opts.kind === undefined ? {} : { kind: opts.kind }),
                  strict: opts.strict === true,
                });
                results.push({
                  source: item.name,
                  ...(check.kind === undefined ? {} : { kind: check.kind }),
                  valid: check.issues.length === 0,
                  issues: check.issues,
                });
                if (!opts.json) {
                  for (const issue of check.issues)
                    writeLine(
                      ctx.stdout,
                      `${printable(item.name)}: ${printable(issue.pointer || "/")}: ${printable(issue.message)}`,
                    );
                }
              } catch (thrown) {
                const error = toBootstreamError(thrown);
                results.push({ source: item.name, valid: false, issues: [], error: error.toJSON() });
                if (!opts.json)
                  writeLine(ctx.stderr, `bootstream: ${printable(item.name)}: ${printable(error.message)}`);
              }
            }
            const unreadable = results.filter((r) => r.error !== undefined).length;
            const invalid = results.filter((r) => !r.valid && r.error === undefined).length;
            if (opts.json) ctx.stdout.write(toJsonText(results));
            else {
              const valid = results.length - invalid - unreadable;
              writeLine(
                ctx.stderr,
                `${results.length} ${results.length === 1 ? "document" : "documents"}: ${valid} valid, ${invalid} invalid` +
                  (unreadable > 0 ? `, ${unreadable} unreadable` : ""),
              );
            }
            // A stream refused by the trust checks keeps its own status (4 signature, 5 rollback
            // or frozen) over "unreadable", so scripts tell an attack from a network error.
            const refused = Math.max(
              0,
              ...results.map((r) => (r.error ? ERROR_CODES[r.error.code].exit : 0)).filter((e) => e > 2),
            );
            if (refused > 0) return refused;
            return unreadable > 0 ? 2 : invalid > 0 ? 1 : 0;
          }),
      ),
  );
}
