/** `bootstream generate release|stream|index`: build metadata -> release -> stream, and the release index. */
import { Command, InvalidArgumentError } from "commander";
import { BootstreamError } from "../errors.ts";
import { applyOverride, MAX_OVERRIDE_BYTES, parseOverride } from "../generate/override.ts";
import { FCOS_STREAM_BASE_URL, generateRelease } from "../generate/release.ts";
import { addToIndex } from "../generate/release-index.ts";
import { generateStream, type ReleaseInput } from "../generate/stream.ts";
import type { BuildMeta } from "../schema/build-meta.ts";
import { formatTimestamp, HTTP_URL_EXPECTATION, isHttpUrl } from "../schema/common.ts";
import { toCanonicalJSON } from "../schema/parse.ts";
import type { Release } from "../schema/release.ts";
import type { ReleaseIndex } from "../schema/release-index.ts";
import { loadDocument, loadStream } from "../source/load.ts";
import { readFileCapped } from "../source/read.ts";
import type { CliContext, CommandKit } from "./context.ts";
import {
  parseIndent,
  parseStreamName,
  parseTimestamp,
  sourceOptions,
  streamBaseUrlOption,
  streamSourceOptions,
  type TrustFlags,
  withTrustOptions,
} from "./options.ts";
import { emitDocument } from "./output.ts";

/** --base-url: it prefixes URLs that end up in documents, so it must pass their rule. */
function parseBaseUrl(value: string): string {
  if (!isHttpUrl(value)) throw new InvalidArgumentError(`expected ${HTTP_URL_EXPECTATION}`);
  return value;
}

/** --last-modified, else SOURCE_DATE_EPOCH (reproducible builds), else now. */
function generationTime(ctx: CliContext, flag: string | undefined): string {
  if (flag !== undefined) return flag;
  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return formatTimestamp(new Date(Number(epoch) * 1000));
  return formatTimestamp(new Date());
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

async function loadAs<T>(
  kit: CommandKit,
  source: string,
  kind: "build-meta" | "release" | "release-index",
  opts: { streamBaseUrl?: string },
) {
  return (await loadDocument(source, { ...sourceOptions(kit.ctx, opts), kind })).document.data as T;
}

function releaseCommand(kit: CommandKit): Command {
  return new Command("release")
    .description("merge the meta.json of each architecture of one build into release.json")
    .requiredOption("--meta <file>", "build meta.json of one architecture (repeat for each)", collect)
    .option(
      "--stream <name>",
      "stream name (default: from the build's labels or config branch)",
      parseStreamName,
    )
    .option("--base-url <url>", "prefix of artifact URLs", parseBaseUrl, FCOS_STREAM_BASE_URL)
    .option("--no-signatures", "write empty signature URLs")
    .option("--existing <file>", "extend this release.json of the same build")
    .option("--indent <n>", "spaces per level (0 for compact)", parseIndent, 2)
    .option("-o, --output <file>", "write here (atomically) instead of stdout")
    .addOption(streamBaseUrlOption().hideHelp())
    .addHelpText(
      "after",
      `
Artifact URLs are laid out as the FCOS builds site does:
  <base-url>/<stream>/builds/<build id>/<arch>/<file>   (+ .sig for signatures)
All --meta files must be from the same build, one per architecture.

Examples:
  bootstream generate release --meta x86_64/meta.json --meta aarch64/meta.json --stream stable
  bootstream generate release --meta meta.json --stream rhcos-4.16 \\
      --base-url https://rhcos.mirror.openshift.com/art/storage/prod/streams -o release.json`,
    )
    .action(
      (opts: {
        meta: string[];
        stream?: string;
        baseUrl: string;
        signatures: boolean;
        existing?: string;
        indent: number;
        output?: string;
      }) =>
        kit.run(false, async () => {
          const metas: BuildMeta[] = [];
          for (const file of opts.meta) metas.push(await loadAs<BuildMeta>(kit, file, "build-meta", {}));
          const existing = opts.existing
            ? await loadAs<Release>(kit, opts.existing, "release", {})
            : undefined;
          const release = generateRelease(metas, {
            baseUrl: opts.baseUrl,
            signatures: opts.signatures,
            ...(opts.stream ? { stream: opts.stream } : {}),
            ...(existing ? { existing } : {}),
          });
          await emitDocument(
            kit.ctx,
            toCanonicalJSON(release, { kind: "release", indent: opts.indent }),
            opts.output,
          );
          return 0;
        }),
    );
}

/** `ARCH=SOURCE` takes one architecture of a release; a plain SOURCE takes all of them. */
function splitReleaseArg(arg: string): { source: string; arch?: string } {
  const m = /^([a-z][a-z0-9_]*)=(.+)$/.exec(arg);
  return m ? { arch: m[1] as string, source: m[2] as string } : { source: arg };
}

function streamCommand(kit: CommandKit): Command {
  // The trust flags check --from, the one stream this reads (release files are the build's own).
  return withTrustOptions(new Command("stream"))
    .description("translate release.json files into stream.json, per architecture")
    .requiredOption(
      "--release <source>",
      "release.json (file or URL), or ARCH=SOURCE for one architecture (repeatable)",
      collect,
    )
    .requiredOption("--stream <name>", "stream name", parseStreamName)
    .option(
      "--override <file>",
      "YAML or JSON file pinning or removing platforms, regions or images per architecture",
    )
    .option("--from <source>", "start from this stream and replace only the architectures given")
    .option(
      "--last-modified <time>",
      "metadata.last-modified (default: SOURCE_DATE_EPOCH or now)",
      parseTimestamp,
    )
    .option("--indent <n>", "spaces per level (0 for compact)", parseIndent, 4)
    .option("-o, --output <file>", "write here (atomically) instead of stdout")
    .addOption(streamBaseUrlOption())
    .addHelpText(
      "after",
      `
metadata.generator is set to "bootstream <version>".
An override file looks like:
  architectures:
    x86_64:
      remove: [/artifacts/vmware, /images/aws/regions/ap-east-1]
      pin:
        /images/aws/regions/me-south-1: {release: 36.20220505.3.2, image: ami-0123456789abcdef0}

Examples:
  bootstream generate stream --release release.json --stream stable -o stable.json
  bootstream generate stream --from rhcos-4.16.json --release x86_64=x86.json --release s390x=s390x.json --stream rhcos-4.16
  bootstream generate stream --release release.json --stream stable --override pins.yaml --last-modified 2024-05-31T14:21:46Z`,
    )
    .action(
      (
        opts: {
          release: string[];
          stream: string;
          override?: string;
          from?: string;
          lastModified?: string;
          indent: number;
          output?: string;
          streamBaseUrl?: string;
        } & TrustFlags,
      ) =>
        kit.run(false, async () => {
          const inputs: ReleaseInput[] = [];
          const byArchSource = new Map<string, ReleaseInput>();
          for (const arg of opts.release) {
            const { source, arch } = splitReleaseArg(arg);
            // ARCH=SOURCE arguments naming the same release share one input with several arches.
            const known = arch ? byArchSource.get(source) : undefined;
            if (known && arch) {
              known.architectures = [...(known.architectures ?? []), arch];
              continue;
            }
            const release = await loadAs<Release>(kit, source, "release", opts);
            const input: ReleaseInput = { release, name: source, ...(arch ? { architectures: [arch] } : {}) };
            if (arch) byArchSource.set(source, input);
            inputs.push(input);
          }
          const base = opts.from
            ? (await loadStream(opts.from, streamSourceOptions(kit.ctx, opts))).stream
            : undefined;
          let stream = generateStream(inputs, {
            stream: opts.stream,
            lastModified: generationTime(kit.ctx, opts.lastModified),
            ...(base ? { base } : {}),
          });
          if (opts.override) {
            // Capped: an override is a few lines, and /dev/zero or a FIFO must not exhaust memory.
            const bytes = await readFileCapped(opts.override, MAX_OVERRIDE_BYTES, "an override file");
            const text = Buffer.from(bytes).toString("utf8");
            stream = applyOverride(stream, parseOverride(text, opts.override));
          }
          await emitDocument(
            kit.ctx,
            toCanonicalJSON(stream, { kind: "stream", indent: opts.indent }),
            opts.output,
          );
          return 0;
        }),
    );
}

function indexCommand(kit: CommandKit): Command {
  return new Command("index")
    .description("add releases to a stream's release index (releases.json), newest last")
    .requiredOption("--release <source>", "release.json to add (repeatable, added in order)", collect)
    .requiredOption("--stream <name>", "stream name", parseStreamName)
    .option("--existing <file>", "the current releases.json (created when the file does not exist)")
    .option(
      "--base-url <url>",
      "where release.json files live (default: from the artifact URLs)",
      parseBaseUrl,
    )
    .option("--allow-older", "allow adding a version older than the newest entry")
    .option(
      "--last-modified <time>",
      "metadata.last-modified when the index changes (default: SOURCE_DATE_EPOCH or now)",
      parseTimestamp,
    )
    .option("--indent <n>", "spaces per level (default: the existing file's, else 2)", parseIndent)
    .option("-o, --output <file>", "write here (atomically) instead of stdout")
    .addOption(streamBaseUrlOption())
    .addHelpText(
      "after",
      `
Adding a release that is already the newest entry with the same content changes nothing.
A version already in the index with other content is refused (exit 1, CONFLICT).

Examples:
  bootstream generate index --existing releases.json --release release.json --stream stable -o releases.json`,
    )
    .action(
      (
        opts: {
          release: string[];
          stream: string;
          existing?: string;
          baseUrl?: string;
          allowOlder?: boolean;
          lastModified?: string;
          indent?: number;
          output?: string;
          streamBaseUrl?: string;
        } & TrustFlags,
      ) =>
        kit.run(false, async () => {
          let index: ReleaseIndex | undefined;
          let indent = opts.indent;
          if (opts.existing) {
            try {
              const loaded = await loadDocument(opts.existing, {
                ...sourceOptions(kit.ctx, opts),
                kind: "release-index",
              });
              index = loaded.document.data as ReleaseIndex;
              indent ??= loaded.document.indent;
            } catch (error) {
              // A missing index is created; anything else (unreadable, invalid) is an error.
              if (
                !(
                  error instanceof BootstreamError &&
                  error.code === "NOT_FOUND" &&
                  error.path === opts.existing
                )
              )
                throw error;
            }
          }
          const lastModified = generationTime(kit.ctx, opts.lastModified);
          for (const source of opts.release) {
            const release = await loadAs<Release>(kit, source, "release", opts);
            index = addToIndex(index, release, {
              stream: opts.stream,
              lastModified,
              ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
              ...(opts.allowOlder ? { allowOlder: true } : {}),
            });
          }
          await emitDocument(
            kit.ctx,
            toCanonicalJSON(index, { kind: "release-index", indent: indent ?? 2 }),
            opts.output,
          );
          return 0;
        }),
    );
}

export function registerGenerate(kit: CommandKit): Command {
  const command = new Command("generate")
    .description("generate release.json from builds, stream.json from releases, and the release index")
    .addHelpText(
      "after",
      `
Examples:
  bootstream generate release --meta meta.json --stream stable -o release.json
  bootstream generate stream --release release.json --stream stable -o stable.json
  bootstream generate index --existing releases.json --release release.json --stream stable -o releases.json`,
    );
  for (const sub of [releaseCommand(kit), streamCommand(kit), indexCommand(kit)]) command.addCommand(sub);
  return command;
}
