/** `bootstream render`: a stream's AMI, image and artifact tables for docs; check or update a doc's tables. */
import type { Writable } from "node:stream";
import { Command, Option } from "commander";
import { BootstreamError } from "../errors.ts";
import { readTextFileNoFollow, replaceTextFileIfUnchanged } from "../files/text-file.ts";
import {
  ASCIIDOC_OS_NAME,
  checkDocTables,
  DOC_MAX_ROWS,
  DOC_TABLE_MAX_ROWS,
  type DocCheckOptions,
  type DocFormat,
  findDocTables,
  findingMessage,
  RENDER_FORMATS,
  RENDER_SELECTIONS,
  type RenderFinding,
  type RenderFormat,
  type RenderWhat,
  renderTables,
  selectDocTables,
  streamTables,
  type TableSelection,
  tablesJson,
  updateDocTables,
} from "../render/index.ts";
import type { Stream } from "../schema/stream.ts";
import { counted, hasControlCharacter, printable, quoted } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  streamBaseUrlOption,
  streamSourceOptions,
  type TrustFlags,
  withArchOption,
  withTrustOptions,
} from "./options.ts";
import { emitDocument } from "./output.ts";
import { toJsonText } from "./render.ts";

interface RenderFlags extends TrustFlags {
  format: RenderFormat;
  what: RenderWhat;
  arch?: string[];
  osName?: string;
  check?: string;
  update?: string;
  output?: string;
  json?: boolean;
  streamBaseUrl?: string;
}

/** Docs modules are kilobytes (OpenShift's AMI module is 4 KB); a bigger "doc" is a mistake or an attack. */
const DOC_MAX_BYTES = 4 * 1024 * 1024;
/** Findings printed (and carried in --json) at most: enough to act on, bounded for a hostile doc. */
const FINDINGS_SHOWN = 1000;

export function registerRender(kit: CommandKit): Command {
  const { ctx } = kit;
  const command = new Command("render")
    .description("print a stream's AMI, image and artifact tables for docs, or check / update a doc's tables")
    .argument("<source>", "stream file, -, URL or stream name")
    .addOption(
      new Option("--format <format>", "output format (and the doc's, for --check/--update)")
        .choices(RENDER_FORMATS)
        .default("asciidoc"),
    )
    .addOption(
      new Option(
        "--what <tables>",
        "which tables: the AWS AMIs, the other cloud images, the artifacts, or all",
      )
        .choices(Object.keys(RENDER_SELECTIONS))
        .default("all"),
    )
    .option("--os-name <name>", 'OS name in captions (default "{op-system}" in AsciiDoc, else "CoreOS")')
    .option(
      "--check <doc>",
      "compare the tables in this AsciiDoc or Markdown file with the stream; exit 1 if any differ",
    )
    .option("--update <doc>", "rewrite the tables in this file that differ from the stream, in place")
    .option(
      "-o, --output <file>",
      "write the tables (with --update: the updated doc, which stays as it is) here, atomically; - for stdout",
    )
    .option("--json", "with --check/--update: the findings as JSON; otherwise the same as --format json")
    .addOption(streamBaseUrlOption());
  withArchOption(command);
  command.addHelpText(
    "after",
    `
Tables, one per architecture and kind, each under a caption that --check and --update find
it by (ARCH is x86_64, aarch64, ...; OS the --os-name):
  .ARCH OS AMIs                                 AWS zone, AWS AMI (the OpenShift AWS UPI docs layout)
  .ARCH OS Alibaba Cloud images                 region, image
  .ARCH OS AWS Windows License Included AMIs    AWS zone, AWS AMI
  .ARCH OS Azure images                         azure-disk URL; marketplace URNs per offer and generation
  .ARCH OS GCP image                            project, family, name
  .ARCH OS IBM Cloud images / PowerVS images    region, object, bucket, URL
  .ARCH OS KubeVirt image                       image, digest-ref
  .ARCH OS artifacts                            platform, format, file URL, SHA256, signature URL
--what amis selects the first kind, artifacts the last, images all the others. Markdown
captions are **ARCH OS TITLE** lines. Architectures: -a in the order given, else all, sorted.
Rendering exits 1 (NOT_FOUND) when the stream has none of the tables asked for.

--check reads the file's tables (AsciiDoc, or Markdown for .md files or --format markdown),
matches rows by region or key and prints one line per row that differs, is missing or is
extra (FILE:LINE: "CAPTION": KEY: ...; the first ${FINDINGS_SHOWN}, then "... and N more"; --json
carries as many, with the total as "count"). Header cells are not compared. A table the
stream has and the file lacks is a finding too when --what names its kind; -a alone narrows
the architectures, and then only kinds the file has for some architecture are required.
Exit 0 when equal; 1 on any difference, when the file has none of the tables asked for
(nothing was checked), or when a table is malformed (a caption without a table, no closing
|===, a caption twice, a caption that is ours but for case or spacing such as .X86_64, a
table of more than ${DOC_TABLE_MAX_ROWS} rows or tables of ${DOC_MAX_ROWS} in all: the message names the
line); 2 when the file cannot be read (missing, a symlink, a directory, over 4 MiB). A caption's architecture has a digit
(x86_64, aarch64, s390x), so a block title such as ".available AMIs" stays prose.
An ifdef::, ifndef:: or include:: line inside a table is an error: which rows Asciidoctor
keeps depends on attributes bootstream does not know; put it around the whole table. The
same caption may stand in different ifdef::/ifndef:: blocks (variants of one table, e.g.
per product): each variant is checked against the stream and rewritten by --update.
--update rewrites only the tables that differ, atomically, keeping every other byte (CRLF
line ends, a byte-order mark and a missing final newline too). A rewritten table keeps its
caption, attributes, delimiters, header lines and the indentation of its rows, and takes
its rows from the stream (comment lines among them go with the old rows; without a cols
attribute each row stays on one line). It exits 1 if a difference needs a hand edit (a
table the file lacks, or has but the stream does not), or if the file changed while
bootstream worked (CONFLICT: run it again). A file with several hard links
is refused (exit 2): replacing it would split the links; write the updated doc elsewhere
with --update FILE -o OUT, then copy it over FILE (cp keeps the links). A read-only file
in a writable directory is replaced like sed -i would, keeping its mode; in a read-only
directory the write fails (exit 2) and the file stays as it was.
Without --check/--update, --json is --format json; with another --format it is a usage error.

Examples:
  bootstream render rhcos-4.16.json --what amis -a x86_64,aarch64
  bootstream render rhcos-4.16.json --format markdown --os-name RHCOS
  bootstream render stable.json --format csv --what amis > amis.csv
  bootstream render rhcos-4.16.json --check modules/installation-aws-user-infra-rhcos-ami.adoc
  bootstream render rhcos-4.16.json --update modules/installation-aws-user-infra-rhcos-ami.adoc
  bootstream render rhcos-4.16.json --update amis.adoc -o - | diff amis.adoc -`,
  );
  return withTrustOptions(command).action((source: string, flags: RenderFlags) =>
    kit.run(flags.json, async () => {
      if (flags.check !== undefined && flags.update !== undefined)
        throw new BootstreamError("USAGE", "--check and --update exclude each other");
      const docPath = flags.check ?? flags.update;
      if (flags.check !== undefined && flags.output !== undefined)
        throw new BootstreamError("USAGE", "-o writes rendered tables or an updated doc; --check only reads");
      if (flags.update !== undefined && flags.json && flags.output === "-")
        throw new BootstreamError("USAGE", "--json and -o - both write to standard output: choose one");
      if (docPath === undefined && flags.json && flags.format !== "json" && formatGiven(command))
        throw new BootstreamError(
          "USAGE",
          `--json prints the tables as JSON, --format ${flags.format} as ${flags.format}: choose one`,
        );
      const docFormat = docPath === undefined ? undefined : docFormatOf(command, flags, docPath);
      const format: RenderFormat = flags.json && docPath === undefined ? "json" : flags.format;
      const osName = flags.osName ?? ((docFormat ?? format) === "asciidoc" ? ASCIIDOC_OS_NAME : "CoreOS");
      if (osName === "" || hasControlCharacter(osName))
        throw new BootstreamError("USAGE", "--os-name: expected text without control characters");
      const { stream } = await loadStream(source, streamSourceOptions(ctx, flags));
      const selection: TableSelection = {
        tables: RENDER_SELECTIONS[flags.what],
        osName,
        ...(flags.arch === undefined ? {} : { architectures: [...new Set(flags.arch)] }),
      };
      if (docPath === undefined || docFormat === undefined) {
        const tables = streamTables(stream, selection);
        // Nothing to print is a finding, as for query: a docs build must not publish an empty page.
        if (tables.length === 0)
          throw new BootstreamError(
            "NOT_FOUND",
            `${printable(stream.stream)} has no ${flags.what === "all" ? "" : `${flags.what} `}tables${
              flags.arch === undefined ? "" : ` for ${[...new Set(flags.arch)].map(printable).join(", ")}`
            }`,
          );
        const text =
          format === "json" ? toJsonText(tablesJson(stream.stream, tables)) : renderTables(tables, format);
        await emitDocument(ctx, text, flags.output);
        return 0;
      }
      // --what names kinds the doc must have; -a alone narrows architectures, asking a table
      // only of kinds the doc has for another architecture (it lists AMIs, not artifacts).
      const required =
        command.getOptionValueSource("what") === "cli"
          ? "selection"
          : flags.arch !== undefined
            ? "doc-kinds"
            : undefined;
      const options: DocCheckOptions = { ...selection, ...(required === undefined ? {} : { required }) };
      return checkOrUpdate(kit, stream, docPath, docFormat, options, flags);
    }),
  );
}

const formatGiven = (command: Command) => command.getOptionValueSource("format") === "cli";

/** The doc's format: --format when given (asciidoc or markdown), else by extension. */
function docFormatOf(command: Command, flags: RenderFlags, path: string): DocFormat {
  if (formatGiven(command)) {
    if (flags.format === "asciidoc" || flags.format === "markdown") return flags.format;
    throw new BootstreamError("USAGE", `--check and --update read AsciiDoc or Markdown, not ${flags.format}`);
  }
  return /\.(md|markdown)$/i.test(path) ? "markdown" : "asciidoc";
}

async function checkOrUpdate(
  kit: CommandKit,
  stream: Stream,
  path: string,
  format: DocFormat,
  options: DocCheckOptions,
  flags: RenderFlags,
): Promise<number> {
  const { ctx } = kit;
  // The name as messages print it: a docs checkout is someone else's tree, its names too.
  const shownPath = printable(path);
  const doc = await readTextFileNoFollow(path, { maxBytes: DOC_MAX_BYTES, what: "docs file" });
  const docTables = findDocTables(doc.text, format, path);
  const update =
    flags.update === undefined ? undefined : updateDocTables(doc.text, format, docTables, stream, options);
  const findings = update?.findings ?? checkDocTables(docTables, stream, options);
  const checked = selectDocTables(docTables, options);
  // A docs CI must not pass on a file where nothing was compared (captions renamed, wrong file).
  if (checked.length === 0 && findings.length === 0)
    throw new BootstreamError(
      "NOT_FOUND",
      `${shownPath}: none of the tables asked for (captions like ".x86_64 {op-system} AMIs", see --help): nothing was checked`,
      { path },
    );
  const shown = findings.slice(0, FINDINGS_SHOWN);
  const summary = {
    doc: path,
    tables: docTables.map((t) => t.caption),
    count: findings.length,
    findings: shown,
  };
  if (update === undefined) {
    if (flags.json) ctx.stdout.write(toJsonText(summary));
    else {
      printFindings(ctx.stdout, shown, findings.length, shownPath);
      writeLine(
        ctx.stderr,
        findings.length === 0
          ? `${shownPath}: ${counted(checked.length, "table")} ${checked.length === 1 ? "matches" : "match"} the stream`
          : `${shownPath}: ${counted(findings.length, "difference")}`,
      );
    }
    return findings.length === 0 ? 0 : 1;
  }
  if (flags.output !== undefined) await emitDocument(ctx, update.text, flags.output);
  else if (update.rewritten.length > 0) await replaceTextFileIfUnchanged(doc, update.text);
  if (flags.json)
    ctx.stdout.write(toJsonText({ ...summary, rewritten: update.rewritten.map((t) => t.caption) }));
  printFindings(ctx.stderr, shown, findings.length, shownPath);
  const done = flags.output === undefined ? "rewrote" : "updated in the output:";
  for (const table of update.rewritten)
    writeLine(ctx.stderr, `${shownPath}:${table.captionLine}: ${done} ${quoted(table.caption)}`);
  const unresolved = update.unresolved.length;
  if (unresolved > 0)
    writeLine(
      ctx.stderr,
      `${shownPath}: ${counted(unresolved, "difference")} ${unresolved === 1 ? "needs" : "need"} a hand edit (see above)`,
    );
  else if (update.rewritten.length === 0) writeLine(ctx.stderr, `${shownPath}: up to date`);
  return unresolved === 0 ? 0 : 1;
}

/** One line per finding, the first FINDINGS_SHOWN of `total`, then how many more there are. */
function printFindings(
  out: Writable,
  shown: readonly RenderFinding[],
  total: number,
  shownPath: string,
): void {
  for (const finding of shown) writeLine(out, findingMessage(finding, shownPath));
  if (total > shown.length) writeLine(out, `... and ${total - shown.length} more`);
}
