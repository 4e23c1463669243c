/** `bootstream serve`: the HTTP service over a published store. */
import { Command, Option } from "commander";
import { BootstreamError } from "../errors.ts";
import { DEFAULT_POLICY, parsePolicy } from "../lint/policy.ts";
import { createLogger, LOG_LEVELS, type LogLevel } from "../serve/log.ts";
import { startServer } from "../serve/server.ts";
import { writeLine } from "./context.ts";
import { integerOption, readLocalFile, signerFrom } from "./options.ts";
import type { CommandKit } from "./program.ts";
import { type StoreFlags, storeFrom, withStoreOptions } from "./store-options.ts";

interface ServeFlags extends StoreFlags {
  host: string;
  port: number;
  tokenFile?: string;
  signKey?: string;
  policy?: string;
  logLevel: LogLevel;
  revalidateMs: number;
}

/** One token per line; blank lines and # comments ignored. */
function parseTokens(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

export function registerServe(kit: CommandKit): Command {
  const { ctx } = kit;
  return withStoreOptions(
    new Command("serve")
      .description(
        "serve published streams over HTTP: pointer, pinned copies, history, download page, publish API, metrics",
      )
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option(
        "--port <port>",
        "port to listen on (0: any free port)",
        integerOption(0, 65535, "a port"),
        8080,
      )
      .option(
        "--token-file <file>",
        "bearer tokens (one per line) allowed to publish; without it the publish API is off",
      )
      .option(
        "--sign-key <file>",
        "sign what the publish API publishes (passphrase: env BOOTSTREAM_SIGN_PASSPHRASE)",
      )
      .option("--policy <file>", "lint policy for the publish API")
      .addOption(
        new Option("--log-level <level>", "request log level (JSON lines on stderr)")
          .choices(LOG_LEVELS)
          .default("info"),
      )
      .option(
        "--revalidate-ms <ms>",
        "how often a cached object is checked against the store",
        integerOption(0, 3_600_000, "milliseconds"),
        500,
      ),
  )
    .addHelpText(
      "after",
      `
Routes: GET/HEAD /streams/<name>.json, /streams/<name>/<id>.json, /streams/<name>/history.json,
their .asc signatures, /stream-<name>.json, /stream-<name>-<id>.json, / and /streams/<name>/
(download page), /v1/streams, /healthz, /metrics; PUT /streams/<name>.json and POST /v1/publish
with "Authorization: Bearer <token>".
Prints the URL it listens on to stdout; stops gracefully on SIGTERM or SIGINT.

Examples:
  bootstream serve --store /srv/streams --port 8080
  bootstream serve --store s3://mirror/coreos --host 0.0.0.0 --token-file /etc/bootstream/tokens --log-level warn`,
    )
    .action((flags: ServeFlags) =>
      kit.run(false, async () => {
        const store = await storeFrom(ctx, flags);
        const tokens = flags.tokenFile
          ? parseTokens(new TextDecoder().decode(await readLocalFile(flags.tokenFile, "token file")))
          : [];
        if (flags.tokenFile && tokens.length === 0)
          throw new BootstreamError("USAGE", `${flags.tokenFile} holds no token`);
        const policy = flags.policy
          ? parsePolicy(new TextDecoder().decode(await readLocalFile(flags.policy, "policy")), flags.policy)
          : DEFAULT_POLICY;
        const signer = await signerFrom(ctx, flags.signKey);
        const logger = createLogger(ctx.stderr, flags.logLevel);
        const running = await startServer({
          store,
          logger,
          host: flags.host,
          port: flags.port,
          revalidateMs: flags.revalidateMs,
          tokens,
          publish: { policy, ...(signer ? { signer } : {}) },
        });
        writeLine(ctx.stdout, running.url);
        logger.log("info", "listening", {
          url: running.url,
          store: store.location,
          publishApi: tokens.length > 0,
        });
        await new Promise<void>((resolve) => {
          if (ctx.shutdown === undefined) return;
          if (ctx.shutdown.aborted) resolve();
          else ctx.shutdown.addEventListener("abort", () => resolve(), { once: true });
        });
        logger.log("info", "shutting down", {});
        await running.close();
        return 0;
      }),
    );
}
