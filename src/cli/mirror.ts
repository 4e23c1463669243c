/** `bootstream mirror`: a stream and chosen artifacts copied for a disconnected site. */
import { Command } from "commander";
import { mirrorStream } from "../mirror/mirror.ts";
import { loadStream } from "../source/load.ts";
import type { TrustVerdict } from "../source/trusted.ts";
import type { CliContext, CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  collectList,
  deadlinesFrom,
  integerOption,
  signerFrom,
  streamBaseUrlOption,
  streamSourceOptions,
  type TrustFlags,
  withArchOption,
  withTrustOptions,
} from "./options.ts";
import { aggregateProgress, progressReporter } from "./progress.ts";
import { toJsonText } from "./render.ts";

interface MirrorFlags extends TrustFlags {
  to: string;
  baseUrl: string;
  arch?: string[];
  platform?: string[];
  format?: string[];
  metadataOnly?: boolean;
  jobs: number;
  retries: number;
  json?: boolean;
  streamBaseUrl?: string;
  signKey?: string;
}

/**
 * The stream, verified when the trust flags ask, with what the mirror keeps of its upstream:
 * the exact bytes read and the signature that verified them. When the source is itself a
 * mirror accepted through its signed upstream copy, that original copy is kept instead.
 */
async function upstreamOf(ctx: CliContext, source: string, flags: MirrorFlags) {
  let verdict: TrustVerdict | undefined;
  const options = streamSourceOptions(ctx, flags, (accepted) => {
    verdict = accepted;
  });
  const { bytes, stream, read } = await loadStream(source, options);
  if (verdict?.upstream && verdict.signature)
    return { stream, upstream: { bytes: verdict.upstream.bytes, signature: verdict.signature.bytes } };
  let signature = verdict?.signature?.bytes;
  let note: string | undefined;
  if (signature === undefined) {
    // Unverified here, but kept: clients holding the upstream key verify it themselves.
    const { locateSignature } = await import("../source/trusted.ts");
    const found = await locateSignature(read, options);
    signature = found?.bytes;
    note = found
      ? `kept ${found.from} as the upstream signature, unverified (give --stream-key to check it first)`
      : `no signature found beside ${read.name}: clients with the upstream key will refuse this mirror`;
  }
  // The stream was parsed from these very bytes: the mirror need not parse them again.
  return { stream, upstream: { bytes, stream, ...(signature ? { signature } : {}) }, note };
}

export function registerMirror(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    withArchOption(
      new Command("mirror")
        .description(
          "copy a stream and its artifacts into a directory, URLs rewritten to where it will be served",
        )
        .argument("<source>", "stream file, -, URL or stream name")
        .requiredOption("--to <dir>", "destination directory")
        .requiredOption("--base-url <url>", "URL the directory will be served at"),
    )
      .option("-p, --platform <name>", "only these platforms", collectList)
      .option("-f, --format <name>", "only these formats", collectList)
      .option("--metadata-only", "write the rewritten stream without copying artifacts")
      .option("-j, --jobs <n>", "downloads in parallel", integerOption(1, 64, "a count"), 4)
      .option("--retries <n>", "retries per transfer", integerOption(1, 64, "a count"), 5)
      .option(
        "--sign-key <file>",
        "re-sign the rewritten stream with this armored private key (streams/<stream>.json.asc; passphrase from BOOTSTREAM_SIGN_PASSPHRASE)",
      )
      .option("--json", "print the result as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Files go under DIR by their URL path (as on the origin) with their signatures; the stream is
written to DIR/streams/<stream>.json with every selected artifact's location and signature
rewritten to --base-url, and the artifacts not selected left out. Beside it the mirror keeps
the stream exactly as read, DIR/streams/<stream>.upstream.json, with the upstream signature
when one was verified (.upstream.json.asc): a client given the upstream key accepts the
rewritten stream when that copy verifies and the rewrite changed nothing but the artifact
URLs. Or re-sign the rewritten stream with --sign-key (DIR/streams/<stream>.json.asc).
Every artifact's sha256 is verified; a rerun resumes partial files and skips verified ones. Any static server (or
bootstream serve for the stream) can serve DIR. Paths come from the stream and stay inside
DIR: two selected artifacts that would share a file, or take one of the mirror's own
(streams/, .bootstream-mirror.json, a .part), are refused before anything is fetched.
A server that sends nothing for 30 s (BOOTSTREAM_TIMEOUT=SECONDS to change) is a timeout.

Examples:
  bootstream mirror stable --to /srv/mirror --base-url https://mirror.internal/coreos/ -a x86_64 -p metal -f iso,pxe
  bootstream mirror rhcos-4.16.json --to /srv/mirror --base-url http://10.0.0.5/ --metadata-only`,
      )
      .action((source: string, flags: MirrorFlags) =>
        kit.run(flags.json, async () => {
          // The key is read before anything is fetched: a wrong passphrase fails first.
          const signer = await signerFrom(ctx, flags.signKey);
          const { stream, upstream, note } = await upstreamOf(ctx, source, flags);
          const reporter = progressReporter(ctx, { single: true });
          const progress = aggregateProgress(reporter, "mirror");
          const result = await mirrorStream(stream, {
            directory: flags.to,
            baseUrl: flags.baseUrl,
            jobs: flags.jobs,
            retries: flags.retries,
            deadlines: deadlinesFrom(ctx.env),
            ...(flags.arch ? { architectures: flags.arch } : {}),
            ...(flags.platform ? { platforms: flags.platform } : {}),
            ...(flags.format ? { formats: flags.format } : {}),
            ...(flags.metadataOnly ? { metadataOnly: true } : {}),
            upstream,
            ...(signer ? { signer } : {}),
            ...(ctx.shutdown ? { signal: ctx.shutdown } : {}),
            // On a terminal the bar shows progress; elsewhere one line per file.
            onFile: (f) => {
              if (!flags.json && !ctx.stderrIsTTY) writeLine(ctx.stderr, `${f.status}: ${f.path}`);
            },
            onProgress: progress,
            onWarning: (message) => writeLine(ctx.stderr, `bootstream: warning: ${message}`),
          }).finally(() => reporter.stop());
          if (flags.json) ctx.stdout.write(toJsonText(result));
          else writeLine(ctx.stdout, result.streamPath);
          if (note !== undefined) writeLine(ctx.stderr, `bootstream: ${note}`);
          return 0;
        }),
      ),
  );
}
