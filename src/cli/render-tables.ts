/** `bootstream render`: a stream's AMI, image and artifact tables for docs; check or update a doc's tables. */
import { lstat } from "node:fs/promises";
import { Command, Option } from "commander";
import { BootstreamError } from "../errors.ts";
import { rewriteTarget, writeFileAtomic } from "../files/atomic.ts";
import { openForReadNoFollow } from "../files/open.ts";
import {
  ASCIIDOC_OS_NAME,
  type CheckOptions,
  checkDocTables,
  type DocFormat,
  findDocTables,
  findingMessage,
  RENDER_FORMATS,
  RENDER_SELECTIONS,
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
import { hasControlCharacter, quoted } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import { formatBytes } from "../source/read.ts";
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

--check reads the file's tables (AsciiDoc, or Markdown for .md files or --format markdown),
matches rows by region or key and prints one line per row that differs, is missing or is
extra (FILE:LINE: "CAPTION": KEY: ...); with -a or --what, a table the stream has and the
file lacks is a finding too. Exit 0 when equal; 1 on any difference, when the file has none
of the tables asked for (nothing was checked), or when a table is malformed (a caption
without a table, no closing |===, a caption twice, a caption that is ours but for case or
spacing such as .X86_64: the message names the line); 2 when the file cannot be read
(missing, a symlink, a directory, over 4 MiB).
An ifdef::, ifndef:: or include:: line inside a table is an error: which rows Asciidoctor
keeps depends on attributes bootstream does not know; put it around the whole table.
--update rewrites only the tables that differ, atomically, keeping every other byte (CRLF
line ends, a byte-order mark and a missing final newline too). A rewritten table keeps its
caption, attributes and delimiters and takes its rows from the stream (comment lines in it
go with the old rows; without a cols attribute each row stays on one line). It exits 1 if
a difference needs a hand edit (a table the file lacks, or has but the stream does not),
or if the file changed while bootstream worked (CONFLICT: run it again). A file with several hard links
is refused (exit 2): replacing it would split the links; write the updated doc elsewhere
with --update FILE -o OUT, then copy it over FILE (cp keeps the links). A read-only file
in a writable directory is replaced like sed -i would, keeping its mode; in a read-only
directory the write fails (exit 2) and the file stays as it was.

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
        const text =
          format === "json" ? toJsonText(tablesJson(stream.stream, tables)) : renderTables(tables, format);
        await emitDocument(ctx, text, flags.output);
        return 0;
      }
      const asked = flags.arch !== undefined || command.getOptionValueSource("what") === "cli";
      return checkOrUpdate(kit, stream, docPath, docFormat, { ...selection, asked }, flags);
    }),
  );
}

/** The doc's format: --format when given (asciidoc or markdown), else by extension. */
function docFormatOf(command: Command, flags: RenderFlags, path: string): DocFormat {
  if (command.getOptionValueSource("format") === "cli") {
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
  options: CheckOptions,
  flags: RenderFlags,
): Promise<number> {
  const { ctx } = kit;
  const doc = await readDoc(path);
  const docTables = findDocTables(doc.text, format, path);
  const findings = checkDocTables(docTables, stream, options);
  const checked = selectDocTables(docTables, options);
  // A docs CI must not pass on a file where nothing was compared (captions renamed, wrong file).
  if (checked.length === 0 && findings.length === 0)
    throw new BootstreamError(
      "NOT_FOUND",
      `${path}: none of the tables asked for (captions like ".x86_64 {op-system} AMIs", see --help): nothing was checked`,
      { path },
    );
  const summary = { doc: path, tables: docTables.map((t) => t.caption), findings };
  if (flags.update === undefined) {
    if (flags.json) ctx.stdout.write(toJsonText(summary));
    else {
      for (const finding of findings) writeLine(ctx.stdout, findingMessage(finding, path));
      writeLine(
        ctx.stderr,
        findings.length === 0
          ? `${path}: ${checked.length} tables match the stream`
          : `${path}: ${findings.length} difference${findings.length === 1 ? "" : "s"}`,
      );
    }
    return findings.length === 0 ? 0 : 1;
  }
  const update = updateDocTables(doc.text, format, docTables, findings, stream);
  if (flags.output !== undefined) await emitDocument(ctx, update.text, flags.output);
  else if (update.rewritten.length > 0) await replaceDoc(doc, update.text);
  if (flags.json)
    ctx.stdout.write(toJsonText({ ...summary, rewritten: update.rewritten.map((t) => t.caption) }));
  for (const finding of findings) writeLine(ctx.stderr, findingMessage(finding, path));
  const done = flags.output === undefined ? "rewrote" : "updated in the output:";
  for (const table of update.rewritten)
    writeLine(ctx.stderr, `${path}:${table.captionLine}: ${done} ${quoted(table.caption)}`);
  if (update.unresolved.length > 0)
    writeLine(ctx.stderr, `${path}: ${update.unresolved.length} difference(s) need a hand edit (see above)`);
  else if (update.rewritten.length === 0) writeLine(ctx.stderr, `${path}: up to date`);
  return update.unresolved.length === 0 ? 0 : 1;
}

/** A doc as read: its text, and what identifies the file it was read from. */
export interface DocFile {
  path: string;
  text: string;
  /** Device, inode, size and modification time (ns) when it was read. */
  identity: string;
}

const identityOf = (s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }) =>
  `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;

/**
 * The doc file as text: a regular file, not a symlink (a docs checkout is someone else's
 * tree, and --update replaces what it names), not a FIFO that would block, capped in size,
 * and UTF-8, decoded without dropping a byte-order mark so a rewrite keeps every byte.
 */
export async function readDoc(path: string): Promise<DocFile> {
  const handle = await openForReadNoFollow(path);
  if (handle === undefined) throw new BootstreamError("IO", `cannot read ${path}: no such file`, { path });
  try {
    const info = await handle.stat({ bigint: true });
    if (info.size > DOC_MAX_BYTES)
      throw new BootstreamError(
        "TOO_LARGE",
        `${path} is ${formatBytes(Number(info.size))}, more than the ${formatBytes(DOC_MAX_BYTES)} a docs file may have`,
        { path },
      );
    const bytes = await handle.readFile();
    return { path, text: decodeUtf8(bytes, path), identity: identityOf(info) };
  } finally {
    await handle.close();
  }
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    // A newline byte never occurs inside a UTF-8 sequence: the first line that fails alone is the culprit.
    let start = 0;
    let line = 1;
    for (; start < bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const stop = end === -1 ? bytes.length : end;
      try {
        decoder.decode(bytes.subarray(start, stop));
      } catch {
        break;
      }
      start = stop + 1;
    }
    throw new BootstreamError("INVALID_DOCUMENT", `${path}:${line}: expected UTF-8 text`, { path, cause });
  }
}

/**
 * Replaces the doc with `text` if it is still the file that was read: atomically, never
 * through a link, mode and owner kept. A file renamed over, edited or swapped for a symlink
 * since is a CONFLICT: writing would drop someone else's change or write where the link points.
 */
export async function replaceDoc(doc: DocFile, text: string): Promise<void> {
  const target = await rewriteTarget(doc.path);
  const now = await lstat(doc.path, { bigint: true }).then(
    (s) => (s.isFile() ? identityOf(s) : undefined),
    () => undefined,
  );
  if (now !== doc.identity)
    throw new BootstreamError(
      "CONFLICT",
      `${doc.path} changed while bootstream worked on it: nothing was written, run the command again`,
      { path: doc.path },
    );
  await writeFileAtomic(target.path, text, { mode: target.mode, owner: target.owner });
}
