/** `bootstream download`: fetch an artifact chosen from a stream, verified, like coreos-installer's. */
import { Command, Option } from "commander";
import { type DownloadResult, type DownloadSource, downloadArtifact } from "../download/download.ts";
import { sourceFromUrl, sourcesFromStream } from "../download/resolve.ts";
import { BootstreamError } from "../errors.ts";
import { ARTIFACT_KINDS, type ArtifactKind } from "../query/index.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  collectList,
  deadlinesFrom,
  integerOption,
  keysFrom,
  streamBaseUrlOption,
  streamSourceOptions,
  withArchOption,
  withTrustOptions,
} from "./options.ts";
import { progressReporter } from "./progress.ts";
import { toJsonText } from "./render.ts";

interface DownloadFlags {
  stream: string;
  arch: string;
  platform: string;
  format: string;
  kind?: ArtifactKind;
  imageUrl?: string;
  sha256?: string;
  directory: string;
  decompress?: boolean;
  key?: string[];
  insecure?: boolean;
  retries: number;
  retryDelay: number;
  json?: boolean;
  streamBaseUrl?: string;
}

export function registerDownload(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    withArchOption(
      new Command("download")
        .description("download and verify a boot image chosen from a stream (or a URL)")
        .option(
          "-s, --stream <name>",
          "stream name (a bare name is always one), or a stream file (./FILE, *.json) or URL",
          "stable",
        ),
      ctx.hostArch,
    )
      .option("-p, --platform <name>", "platform", "metal")
      .option("-f, --format <name>", "format", "raw.xz")
      .addOption(new Option("-k, --kind <kind>", "only this file of the format").choices(ARTIFACT_KINDS))
      .option("-u, --image-url <url>", "download this URL instead (signature expected at URL.sig)")
      .option("--sha256 <hex>", "with -u: the expected sha256")
      .option("-C, --directory <dir>", "destination directory", ".")
      .option(
        "--decompress",
        "decompress .xz, .gz and .zst on the fly (checks uncompressed-sha256 when the stream has it)",
      )
      .option(
        "--key <file>",
        "OpenPGP public key(s) to verify signatures with (repeatable; env BOOTSTREAM_KEYRING)",
        collectList,
      )
      .option("--insecure", "skip signature verification (digests are still checked)")
      .option(
        "--retries <n>",
        "retries after a failed or dropped transfer",
        integerOption(0, 100, "retries"),
        5,
      )
      .option(
        "--retry-delay <ms>",
        "delay before the first retry, doubling each time",
        integerOption(0, 600_000, "milliseconds"),
        500,
      )
      .option("--json", "print results as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Writes NAME.part and renames it to NAME only after the sha256 and the signature verified;
on a mismatch the partial file is removed. An interrupted download resumes from NAME.part.
Prints the paths of the files written on stdout, and on stderr what was checked ("not
verified: no digest" when neither the stream nor --sha256 gave one).
A server that sends nothing for 30 s (BOOTSTREAM_TIMEOUT=SECONDS to change) is a timeout.
Exit status: 0 ok, 1 not found or invalid stream, 2 usage, I/O error or timeout,
3 checksum mismatch or corrupt compressed data, 4 bad or missing signature (of an artifact, or of
the stream with --stream-key), 5 a stream older than one accepted before or than --max-age.

Examples:
  bootstream download -s stable -a x86_64 -p metal -f iso --key fedora.asc
  bootstream download -s stable -p metal -f pxe -C /srv/tftp --key fedora.asc
  bootstream download -s stable -p qemu -f qcow2.xz --decompress --key fedora.asc
  bootstream download -u https://example.com/image.raw.xz --sha256 <hex> --insecure`,
      )
      .action((flags: DownloadFlags) =>
        kit.run(flags.json, async () => {
          const keyFiles = flags.key?.length
            ? flags.key
            : ctx.env.BOOTSTREAM_KEYRING
              ? [ctx.env.BOOTSTREAM_KEYRING]
              : [];
          if (!flags.insecure && keyFiles.length === 0) {
            throw new BootstreamError(
              "USAGE",
              "no key to verify signatures with: give --key FILE (or set BOOTSTREAM_KEYRING), or --insecure",
            );
          }
          const keys = keyFiles.length > 0 ? await keysFrom(keyFiles) : [];
          let sources: DownloadSource[];
          if (flags.imageUrl) {
            // A digest that cannot match would only surface as a mismatch after the transfer.
            if (flags.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.sha256))
              throw new BootstreamError(
                "USAGE",
                `--sha256 ${JSON.stringify(flags.sha256)}: expected 64 hexadecimal digits`,
              );
            sources = [sourceFromUrl(flags.imageUrl, flags.sha256?.toLowerCase())];
          } else {
            const { stream } = await loadStream(flags.stream, {
              ...streamSourceOptions(ctx, flags),
              bareNameIsStream: true,
            });
            sources = sourcesFromStream(stream, {
              architecture: flags.arch,
              platform: flags.platform,
              format: flags.format,
              ...(flags.kind ? { kind: flags.kind } : {}),
            });
          }
          const deadlines = deadlinesFrom(ctx.env);
          const progress = progressReporter(ctx);
          const results: DownloadResult[] = [];
          try {
            for (const source of sources) {
              const result = await downloadArtifact(source, {
                directory: flags.directory,
                decompress: flags.decompress === true,
                keys,
                insecure: flags.insecure === true,
                retries: flags.retries,
                backoffMs: flags.retryDelay,
                deadlines,
                builtinDecompressors: ctx.env.BOOTSTREAM_BUILTIN_DECOMPRESSORS === "1",
                onProgress: (p) => progress.update(p),
                ...(ctx.shutdown ? { signal: ctx.shutdown } : {}),
              });
              progress.stop();
              results.push(result);
              if (!flags.json) {
                writeLine(ctx.stdout, result.path);
                writeLine(ctx.stderr, `${result.path}: ${checkedWords(result, flags.insecure === true)}`);
              }
            }
          } finally {
            progress.stop();
          }
          if (flags.json) ctx.stdout.write(toJsonText(results));
          return 0;
        }),
      ),
  );
}

/** What was proven about a file, and only that: "sha256 ok" only when a digest was compared. */
function checkedWords(result: DownloadResult, insecure: boolean): string {
  if (result.skipped) return "already present and verified";
  const words = result.verified.map(
    (digest) => `${digest === "sha256" ? "sha256" : "uncompressed sha256"} ok`,
  );
  if (result.signatureKey) words.push(`signed by ${result.signatureKey}`);
  if (result.verified.length === 0)
    words.push(result.signatureKey ? "no digest given" : "not verified: no digest");
  if (insecure) words.push("signature not checked (--insecure)");
  return words.join(", ");
}
