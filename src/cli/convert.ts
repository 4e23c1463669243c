/** `bootstream convert legacy`: a pre-4.8 installer boot-image file as a stream. */
import { Command } from "commander";
import { type ConvertLegacyOptions, convertLegacyInstallerText } from "../convert/legacy.ts";
import { toCanonicalJSON } from "../schema/parse.ts";
import { printable } from "../schema/text.ts";
import { classifySource, readSource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  parseIndent,
  parseStreamName,
  parseTimestamp,
  readLocalFile,
  sourceOptions,
  withArchOption,
} from "./options.ts";
import { emitDocument } from "./output.ts";
import { toJsonText } from "./render.ts";

/** A legacy file is about 5 KB; stdin and URLs get the cap readLocalFile puts on local files. */
const LEGACY_MAX_BYTES = 4 * 1024 * 1024;
const FALLBACK_ARCH = "x86_64";

interface LegacyFlags {
  arch: string;
  stream?: string;
  lastModified?: string;
  gcpProject?: string;
  indent: number;
  output?: string;
  json?: boolean;
}

/** FILE, `-` or a URL; a bare word is a local file here, never a stream name to fetch. */
async function readLegacy(kit: CommandKit, file: string): Promise<{ name: string; bytes: Uint8Array }> {
  const kind = classifySource(file);
  if (kind === "stdin" || kind === "url")
    return readSource(file, { ...sourceOptions(kit.ctx, {}), maxBytes: LEGACY_MAX_BYTES });
  // A missing or unreadable FILE is a usage error (exit 2), as for keys and policies.
  return { name: file, bytes: await readLocalFile(file, "legacy installer file") };
}

function legacyCommand(kit: CommandKit): Command {
  const { ctx } = kit;
  // One architecture; "x86_64" is the fallback when the file names carry none (see the help).
  const command = withArchOption(
    new Command("legacy")
      .description("convert a pre-4.8 installer boot-image file (rhcos.json, rhcos-<arch>.json) to a stream")
      .argument("<file>", "the legacy file, - for stdin, or an http(s) URL"),
    FALLBACK_ARCH,
  )
    .option(
      "--stream <name>",
      "stream name (default: rhcos-4.<minor> from an RHCOS build id)",
      parseStreamName,
    )
    .option(
      "--last-modified <time>",
      "metadata.last-modified (default: the build time in an RHCOS build id)",
      parseTimestamp,
    )
    .option(
      "--gcp-project <project>",
      "GCP project of gcp.image when the file names none (default for RHCOS: rhcos-cloud)",
    )
    .option("--indent <n>", "spaces per level (0 for compact)", parseIndent, 4)
    .option("-o, --output <file>", "write the stream here (atomically) instead of stdout")
    .option("--json", "print {stream, unmapped} as JSON on stdout instead of the stream alone")
    .addHelpText(
      "after",
      `
Without --arch the architecture is the one the file names carry (rhcos-...-metal.ppc64le.raw.gz),
else x86_64; an --arch the file names contradict is refused.
The stream has one architecture: AMIs per region from amis.<region>.hvm, artifact URLs as
baseURI + images.<name>.path with sha256 and uncompressed-sha256, images.gcp from gcp.image,
rhel-coreos-extensions.azure-disk from azure.url, and every release from buildid.
Each field a stream has no place for is printed on stderr as
  <json pointer>: not carried by a stream (<why>)
(with --json, listed under "unmapped" instead). The mapping: docs/convert-legacy.md.
Exit status: 0 converted; 1 the file is not a valid legacy file; 2 usage or I/O error.

Examples:
  bootstream convert legacy rhcos.json -o rhcos-4.5.json
  bootstream convert legacy rhcos-ppc64le.json --stream rhcos-4.7 > stream.json
  bootstream convert legacy okd-rhcos.json --stream okd-4.3 --last-modified 2019-10-21T00:00:00Z \\
      --gcp-project rhcos-cloud
  bootstream convert legacy rhcos.json --json | jq -r '.unmapped[].pointer'`,
    );
  // The help must not claim x86_64 is the default: the file names decide first.
  command.options
    .find((o) => o.long === "--arch")
    ?.default(FALLBACK_ARCH, "the architecture in the file names, else x86_64");
  return command.action(function (this: Command, file: string, flags: LegacyFlags) {
    return kit.run(flags.json, async () => {
      const architecture = this.getOptionValueSource("arch") === "cli" ? flags.arch : undefined;
      const { name, bytes } = await readLegacy(kit, file);
      const options: ConvertLegacyOptions = {
        name,
        ...(architecture === undefined ? {} : { architecture }),
        ...(flags.stream === undefined ? {} : { stream: flags.stream }),
        ...(flags.lastModified === undefined ? {} : { lastModified: flags.lastModified }),
        ...(flags.gcpProject === undefined ? {} : { gcpProject: flags.gcpProject }),
      };
      const { stream, unmapped } = convertLegacyInstallerText(bytes, options);
      const text = toCanonicalJSON(stream, { kind: "stream", indent: flags.indent });
      if (flags.json) {
        // The file first: a failed write must leave stdout to the one error document.
        if (flags.output !== undefined) await emitDocument(ctx, text, flags.output);
        // The stream in its canonical key order, as the file it would be.
        ctx.stdout.write(toJsonText({ stream: JSON.parse(text) as unknown, unmapped }));
        return 0;
      }
      await emitDocument(ctx, text, flags.output);
      for (const field of unmapped)
        writeLine(ctx.stderr, `${printable(field.pointer)}: not carried by a stream (${field.reason})`);
      return 0;
    });
  });
}

export function registerConvert(kit: CommandKit): Command {
  return new Command("convert")
    .description("convert older boot-image metadata formats to a stream")
    .addHelpText(
      "after",
      `
Examples:
  bootstream convert legacy rhcos.json -o stream.json`,
    )
    .addCommand(legacyCommand(kit));
}
