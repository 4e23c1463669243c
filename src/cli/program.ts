/**
 * Builds the commander program and runs it. Commands only parse flags, call the library
 * and render; every failure arrives here as a BootstreamError and becomes one line on
 * stderr (and a JSON object on stdout with --json) plus the code's exit status.
 */
import { Command, CommanderError, Option } from "commander";
import { toBootstreamError } from "../errors.ts";
import type { ReadSourceOptions } from "../source/read.ts";
import { VERSION } from "../version.ts";
import type { CliContext } from "./context.ts";
import { writeLine } from "./context.ts";
import { registerDiff } from "./diff.ts";
import { registerDownload } from "./download.ts";
import { registerFmt } from "./fmt.ts";
import { registerGenerate } from "./generate.ts";
import { registerImage } from "./image.ts";
import { registerLint } from "./lint.ts";
import { registerList } from "./list.ts";
import { registerMirror } from "./mirror.ts";
import { registerPublish } from "./publish.ts";
import { registerQuery } from "./query.ts";
import { toJsonText } from "./render.ts";
import { registerServe } from "./serve.ts";
import { registerValidate } from "./validate.ts";
import { registerVerify } from "./verify.ts";

/** What a command handler gets: its context and a way to run the body with error mapping. */
export interface CommandKit {
  ctx: CliContext;
  /** Runs `body`; its number (or a caught error's code) becomes the exit status. */
  run(json: boolean | undefined, body: () => Promise<number>): Promise<void>;
}

/** How commands read SOURCE arguments: stdin from the context, the stream base URL from flag or env. */
export function sourceOptions(ctx: CliContext, opts: { streamBaseUrl?: string }): ReadSourceOptions {
  const baseUrl = opts.streamBaseUrl ?? ctx.env.BOOTSTREAM_STREAM_BASE_URL;
  return { stdin: ctx.stdin, ...(baseUrl ? { streamBaseUrl: baseUrl } : {}) };
}

export function streamBaseUrlOption(): Option {
  return new Option(
    "--stream-base-url <url>",
    "where bare stream names resolve (env BOOTSTREAM_STREAM_BASE_URL)",
  );
}

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  let exitCode = 0;
  const kit: CommandKit = {
    ctx,
    async run(json, body) {
      try {
        exitCode = await body();
      } catch (thrown) {
        const error = toBootstreamError(thrown);
        writeLine(ctx.stderr, `bootstream: ${error.message}`);
        if (json) ctx.stdout.write(toJsonText({ error: error.toJSON() }));
        exitCode = error.exitCode;
      }
    },
  };

  const program = new Command("bootstream")
    .description("Model, query, validate and format CoreOS boot-image stream metadata")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();
  program.addHelpText(
    "after",
    `
Sources (SOURCE): a file path, "-" for standard input, an http(s) URL, or a bare stream
name such as "stable" resolved against --stream-base-url.

Exit status: 0 success, 1 findings (invalid document, not found, differences), 2 usage or I/O error.

Examples:
  bootstream list stable.json
  bootstream query stable.json -a x86_64 -p metal -f iso
  bootstream image stable.json -a x86_64 -p aws --region us-east-1
  bootstream validate streams/*.json
  bootstream fmt --check streams/*.json`,
  );

  const registers = [
    registerValidate,
    registerFmt,
    registerQuery,
    registerImage,
    registerList,
    registerGenerate,
    registerDiff,
    registerLint,
  ];
  for (const register of [
    ...registers,
    registerPublish,
    registerVerify,
    registerServe,
    registerDownload,
    registerMirror,
  ]) {
    for (const command of [register(kit)].flat()) program.addCommand(command);
  }
  // addCommand does not pass these settings down, so apply them to every (sub)command.
  const configure = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help and version output are successes; every other parse failure is a usage error.
      if (thrown.code === "commander.helpDisplayed" || thrown.code === "commander.version") {
        return 0;
      }
      return 2;
    }
    const error = toBootstreamError(thrown);
    writeLine(ctx.stderr, `bootstream: ${error.message}`);
    return error.exitCode;
  }
  return exitCode;
}
