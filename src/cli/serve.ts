/** `bootstream serve`: the HTTP service over a published store. */
import { Command, Option } from "commander";
import { publicKeysOfSigningKey } from "../publish/signing-keys.ts";
import { parseTokenFile } from "../schema/token.ts";
import { checkStoreAtStart, openCacheDir, type RunningServer, startServer } from "../serve/lifecycle.ts";
import { createLogger, LOG_LEVELS, type LogLevel } from "../serve/log.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  integerOption,
  policyFrom,
  readLocalFile,
  type StoreFlags,
  secondsOption,
  signerFrom,
  storeFrom,
  withStoreOptions,
} from "./options.ts";

interface ServeFlags extends StoreFlags {
  host: string;
  port: number;
  tokenFile?: string;
  signKey?: string;
  policy?: string;
  logLevel: LogLevel;
  revalidateMs: number;
  storeTimeout: number;
  pointerMaxAge: number;
  cacheDir?: string;
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
        "how often the pointer and history are checked against the store",
        integerOption(0, 3_600_000, "milliseconds"),
        500,
      )
      .option(
        "--store-timeout <seconds>",
        "deadline of every store call; past it the last verified copy is served (or 503)",
        secondsOption,
        2,
      )
      .option(
        "--cache-dir <dir>",
        "keep verified objects here too, so a restarted server answers while the store is down",
      )
      .option(
        "--pointer-max-age <seconds>",
        "Cache-Control max-age of the pointer and history (pinned copies: a year, immutable)",
        integerOption(0, 86_400, "seconds"),
        60,
      ),
  )
    .addHelpText(
      "after",
      `
Routes: GET/HEAD /streams/<name>.json, /streams/<name>/<id>.json, /streams/<name>/history.json,
their .asc signatures, /stream-<name>.json, /stream-<name>-<id>.json, / and /streams/<name>/
(download page), /v1/streams, /livez, /readyz (= /healthz), /metrics; PUT /streams/<name>.json
and POST /v1/publish with "Authorization: Bearer <token>".
When the store fails or misses its deadline, what was verified keeps being served (200, same
ETag); an object never read answers 503 with Retry-After. /readyz says ok, degraded (store down,
cached copies served; still 200) or unavailable (503).
Prints the URL it listens on to stdout; stops gracefully on SIGTERM or SIGINT.

Examples:
  bootstream serve --store /srv/streams --port 8080
  bootstream serve --store s3://mirror/coreos --host 0.0.0.0 --token-file /etc/bootstream/tokens --log-level warn
  bootstream serve --store s3://mirror/coreos --cache-dir /var/cache/bootstream --store-timeout 1`,
    )
    .action((flags: ServeFlags) =>
      kit.run(false, async () => {
        const tokens = flags.tokenFile
          ? parseTokenFile(
              new TextDecoder().decode(await readLocalFile(flags.tokenFile, "token file")),
              flags.tokenFile,
            )
          : [];
        const store = await storeFrom(ctx, flags);
        const logger = createLogger(ctx.stderr, flags.logLevel);
        const policy = await policyFrom(flags.policy);
        const signer = await signerFrom(ctx, flags.signKey);
        const signerKeys = flags.signKey
          ? await publicKeysOfSigningKey(await readLocalFile(flags.signKey, "signing key"))
          : undefined;
        const cacheDir = flags.cacheDir ? await openCacheDir(flags.cacheDir, logger) : undefined;
        let running: RunningServer;
        try {
          await checkStoreAtStart(store, flags.storeTimeout, cacheDir?.objects.length ?? 0, logger);
          running = await startServer({
            store,
            logger,
            host: flags.host,
            port: flags.port,
            revalidateMs: flags.revalidateMs,
            storeTimeoutMs: Math.round(flags.storeTimeout * 1000),
            pointerMaxAgeSeconds: flags.pointerMaxAge,
            ...(cacheDir ? { cacheDir } : {}),
            tokens,
            publish: { policy, ...(signer ? { signer } : {}), ...(signerKeys ? { signerKeys } : {}) },
          });
        } catch (error) {
          await cacheDir?.cache.close(); // gives up the directory's lock
          throw error;
        }
        writeLine(ctx.stdout, running.url);
        logger.log("info", "listening", {
          url: running.url,
          store: store.location, // the server's own log, never sent to a client
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
