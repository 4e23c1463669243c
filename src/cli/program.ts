/**
 * Builds the commander program and runs it. Commands only parse flags, call the library
 * and render; every failure arrives here as a BootstreamError and becomes one line on
 * stderr (and a JSON object on stdout with --json) plus the code's exit status.
 */
import { Command, CommanderError } from "commander";
import { toBootstreamError } from "../errors.ts";
import { printableLines } from "../schema/text.ts";
import { VERSION } from "../version.ts";
import type { CliContext, CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { toJsonText } from "./render.ts";

type Register = (kit: CommandKit) => Command | Command[];

const publishCommands = async (): Promise<Register> => (await import("./publish.ts")).registerPublish;

/** Every command, in help order, with the module that defines it. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import("./validate.ts")).registerValidate,
  fmt: async () => (await import("./fmt.ts")).registerFmt,
  query: async () => (await import("./query.ts")).registerQuery,
  image: async () => (await import("./image.ts")).registerImage,
  list: async () => (await import("./list.ts")).registerList,
  generate: async () => (await import("./generate.ts")).registerGenerate,
  diff: async () => (await import("./diff.ts")).registerDiff,
  lint: async () => (await import("./lint.ts")).registerLint,
  publish: publishCommands,
  history: publishCommands,
  rollback: publishCommands,
  fsck: publishCommands,
  audit: async () => (await import("./audit.ts")).registerAudit,
  verify: async () => (await import("./verify.ts")).registerVerify,
  serve: async () => (await import("./serve.ts")).registerServe,
  download: async () => (await import("./download.ts")).registerDownload,
  mirror: async () => (await import("./mirror.ts")).registerMirror,
  oci: async () => (await import("./oci.ts")).registerOci,
  configmap: async () => (await import("./configmap.ts")).registerConfigMap,
  render: async () => (await import("./render-tables.ts")).registerRender,
  machinesets: async () => (await import("./machinesets.ts")).registerMachineSets,
  convert: async () => (await import("./convert.ts")).registerConvert,
};

/**
 * Commands that wind down on their own when `ctx.shutdown` aborts: serve stops accepting and
 * finishes in-flight requests. bin.ts ends every other command at once on a signal.
 */
const WIND_DOWN_ON_SHUTDOWN = new Set(["serve"]);

/** The command an argument list runs (the first word that is not an option). */
function commandOf(argv: readonly string[]): string | undefined {
  return argv.find((a) => !a.startsWith("-"));
}

/** Whether the command `argv` runs finishes its work when asked to stop, rather than being ended. */
export function windsDownOnShutdown(argv: readonly string[]): boolean {
  const command = commandOf(argv);
  return command !== undefined && WIND_DOWN_ON_SHUTDOWN.has(command);
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
        writeLine(ctx.stderr, `bootstream: ${printableLines(error.message)}`);
        if (json) ctx.stdout.write(toJsonText({ error: error.toJSON() }));
        exitCode = error.exitCode;
      }
    },
  };

  const program = new Command("bootstream")
    .description(
      "CoreOS boot-image stream metadata: validate, query, generate, diff, lint, publish, serve, download, mirror, ship in OCI images",
    )
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

Exit status: 0 success; 1 findings (invalid document, not found, differences, lint violations,
conflict); 2 usage, I/O error or timeout; 3 checksum mismatch; 4 bad or missing signature (also of
the stream, with --stream-key); 5 a stream older than one accepted before (rollback) or than
--max-age (frozen); 130/143 stopped by SIGINT/SIGTERM.

Examples:
  bootstream list stable.json
  bootstream query stable.json -a x86_64 -p metal -f iso
  bootstream image stable.json -a x86_64 -p aws --region us-east-1
  bootstream validate streams/*.json
  bootstream lint --previous old.json stable.json
  bootstream publish stable.json --store /srv/streams && bootstream serve --store /srv/streams
  bootstream download -s stable -p metal -f iso --key fedora.asc`,
  );

  // Only the command being run is loaded (heavy dependencies such as the AWS SDK or
  // openpgp.js stay out of `bootstream list`); help without a command loads them all.
  const requested = commandOf(argv);
  const loaders =
    requested !== undefined && COMMANDS[requested]
      ? [COMMANDS[requested]]
      : [...new Set(Object.values(COMMANDS))];
  for (const load of loaders) {
    const register = await load();
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
    writeLine(ctx.stderr, `bootstream: ${printableLines(error.message)}`);
    return error.exitCode;
  }
  return exitCode;
}
