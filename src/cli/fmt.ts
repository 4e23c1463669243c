/** `bootstream fmt`: rewrite documents in canonical form, or check that they are. */
import type { Readable } from "node:stream";
import { Command, Option } from "commander";
import { describeDifference } from "../canonical/compare.ts";
import { BootstreamError, ERROR_CODES, toBootstreamError } from "../errors.ts";
import { type RewriteTarget, rewriteTarget, writeFileAtomic } from "../files/atomic.ts";
import { DOCUMENT_KINDS, type DocumentKind, resolveKind } from "../schema/documents.ts";
import { canonicalize, decodeDocument } from "../schema/parse.ts";
import { readSources, type SourceItem } from "../source/many.ts";
import { classifySource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { parseIndent } from "./options.ts";
import { toJsonText } from "./render.ts";

interface FmtOptions {
  check?: boolean;
  indent?: number;
  output?: string;
  kind?: DocumentKind;
  json?: boolean;
}

interface FmtResult {
  source: string;
  canonical: boolean;
  reason?: string;
  written?: boolean;
  error?: ReturnType<BootstreamError["toJSON"]>;
}

/**
 * A document's source text and canonical text, keeping its indent unless one is given. Not
 * validated: fmt formats whatever parses and has a kind (given, or detected).
 */
function formatted(
  bytes: Uint8Array,
  options: { indent?: number; kind?: DocumentKind },
): { text: string; canonical: string } {
  const { text, value, lexemes, indent } = decodeDocument(bytes);
  const kind = resolveKind(value, options.kind);
  return { text, canonical: canonicalize({ kind, data: value, lexemes, indent }, options) };
}

export function registerFmt(kit: CommandKit): Command {
  const { ctx } = kit;
  return new Command("fmt")
    .description("rewrite documents in canonical form (Go encoding/json order and layout)")
    .argument("<file...>", "files to format, or - to format standard input to standard output")
    .option("--check", "change nothing; list files that are not canonical (exit 1 if any)")
    .option("--indent <n>", "spaces per level, 0 for compact (default: the file's own)", parseIndent)
    .option("-o, --output <file>", "write the result here instead of in place (- for stdout)")
    .addOption(new Option("--kind <kind>", "document kind instead of detecting it").choices(DOCUMENT_KINDS))
    .option("--json", "print results as JSON")
    .addHelpText(
      "after",
      `
Canonical means upstream's order and layout with the file's own content: struct fields in Go
declaration order, maps sorted, unknown fields kept (after the known ones), a final newline.
Files are replaced atomically (temporary file + rename) and keep their owner, group and mode.
A symlink is followed: the file it points to is rewritten and the link stays a link. A file
with several hard links, a FIFO, a device or a directory is not rewritten in place (use -o).
-o OUT replaces OUT: a symlink there is replaced by the new file, not written through.

Examples:
  bootstream fmt stable.json
  bootstream fmt --check streams/*.json
  bootstream fmt --indent 2 -o out.json release.json
  cat stable.json | bootstream fmt -`,
    )
    .action((files: string[], opts: FmtOptions) =>
      kit.run(opts.json, async () => {
        if (opts.output !== undefined && files.length !== 1) {
          throw new BootstreamError("USAGE", "-o/--output takes exactly one input file");
        }
        const toStdout =
          opts.output === "-" || (files.length === 1 && files[0] === "-" && opts.output === undefined);
        const inPlace = !opts.check && !toStdout && opts.output === undefined;
        const targets = inPlace ? await rewriteTargets(files) : new Map<string, RewriteTarget | Error>();
        const results: FmtResult[] = [];
        for await (const item of readInOrder(files, targets, { stdin: ctx.stdin })) {
          try {
            if ("error" in item) throw item.error;
            const { text, canonical } = formatted(item.bytes, {
              ...(opts.indent === undefined ? {} : { indent: opts.indent }),
              ...(opts.kind === undefined ? {} : { kind: opts.kind }),
            });
            const reason = describeDifference(text, canonical);
            const result: FmtResult = { source: item.name, canonical: reason === undefined };
            if (reason !== undefined) result.reason = reason;
            if (opts.check) {
              if (reason !== undefined && !opts.json) writeLine(ctx.stdout, item.name);
            } else if (toStdout) {
              ctx.stdout.write(canonical);
            } else if (opts.output !== undefined) {
              await writeFileAtomic(opts.output, canonical);
              result.written = true;
            } else if (reason !== undefined) {
              const target = targets.get(item.source) as RewriteTarget;
              await writeFileAtomic(target.path, canonical, { mode: target.mode, owner: target.owner });
              result.written = true;
              if (!opts.json) writeLine(ctx.stderr, `formatted ${item.name}`);
            }
            results.push(result);
          } catch (thrown) {
            const error = toBootstreamError(thrown);
            results.push({ source: item.source, canonical: false, error: error.toJSON() });
            if (!opts.json) {
              const message = error.message.startsWith(item.source)
                ? error.message
                : `${item.source}: ${error.message}`;
              writeLine(ctx.stderr, `bootstream: ${message}`);
            }
          }
        }
        if (opts.json) ctx.stdout.write(toJsonText(results));
        const failed = results.filter((r) => r.error !== undefined);
        if (failed.length > 0)
          return Math.max(...failed.map((r) => (r.error ? ERROR_CODES[r.error.code].exit : 2)));
        if (opts.check) {
          const bad = results.filter((r) => !r.canonical).length;
          if (!opts.json && bad > 0) writeLine(ctx.stderr, `${bad} of ${results.length} files not canonical`);
          return bad > 0 ? 1 : 0;
        }
        return 0;
      }),
    );
}

/**
 * Where each file of an in-place run is rewritten, or why it cannot be: checked before it is
 * read, so a FIFO is refused instead of waiting for a writer, and a URL or stream name is never
 * "rewritten" into a local file of that name.
 */
async function rewriteTargets(files: readonly string[]): Promise<Map<string, RewriteTarget | Error>> {
  const targets = new Map<string, RewriteTarget | Error>();
  for (const file of new Set(files)) {
    const kind = classifySource(file);
    if (kind === "stdin") {
      targets.set(file, new BootstreamError("USAGE", "cannot rewrite standard input in place; use -o"));
    } else if (kind === "url") {
      targets.set(
        file,
        new BootstreamError("USAGE", `${file} is a URL: it cannot be rewritten in place; use -o`),
      );
    } else {
      targets.set(file, await rewriteTarget(file).catch((error: Error) => error));
    }
  }
  return targets;
}

/** The files read in argument order, those refused by `targets` as errors without being read. */
async function* readInOrder(
  files: readonly string[],
  targets: ReadonlyMap<string, RewriteTarget | Error>,
  options: { stdin: Readable },
): AsyncGenerator<SourceItem> {
  const refused = (file: string) => targets.get(file) instanceof Error;
  const reads = readSources(
    files.filter((f) => !refused(f)),
    options,
  );
  for (const file of files) {
    const target = targets.get(file);
    if (target instanceof Error) yield { source: file, error: target };
    else {
      const next = await reads.next();
      if (!next.done) yield next.value;
    }
  }
}
