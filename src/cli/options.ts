/** Small option helpers shared by commands (kept free of heavy imports: commands load lazily). */
import { type Command, InvalidArgumentError, Option } from "commander";
import { MAX_INDENT } from "../canonical/write.ts";
import { BootstreamError } from "../errors.ts";
import type { Policy } from "../lint/policy.ts";
import type { Deadlines } from "../net/http.ts";
import { isRfc3339 } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import { type ReadSourceOptions, readFileCapped, type SourceBytes } from "../source/read.ts";
import type { TrustOptions, TrustVerdict } from "../source/trusted.ts";
import type { Store } from "../storage/store.ts";
import { type CliContext, writeLine } from "./context.ts";

/** Keys, policies and token files are kilobytes; a keyring of many keys stays far below this. */
const LOCAL_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** A key, policy or token file named on the command line, capped: `--key /dev/zero` must not fill memory. */
export async function readLocalFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFileCapped(path, LOCAL_FILE_MAX_BYTES, `a ${what}`);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    // A missing key or policy file is a usage problem (exit 2), not a finding (NOT_FOUND, 1).
    const code = cause instanceof BootstreamError && cause.code !== "NOT_FOUND" ? cause.code : "IO";
    throw new BootstreamError(
      code,
      `cannot read ${what} ${path}: ${reason.replace(`cannot read ${path}: `, "")}`,
      { cause, path },
    );
  }
}

export async function signerFrom(ctx: CliContext, keyFile: string | undefined) {
  if (keyFile === undefined) return undefined;
  const { createSigner } = await import("../signature/index.ts");
  const armored = new TextDecoder().decode(await readLocalFile(keyFile, "signing key"));
  return createSigner(armored, ctx.env.BOOTSTREAM_SIGN_PASSPHRASE);
}

export async function keysFrom(files: readonly string[]) {
  const { readPublicKeys } = await import("../signature/index.ts");
  const keys = [];
  for (const file of files) keys.push(...(await readPublicKeys(await readLocalFile(file, "public key"))));
  return keys;
}

/** Commander collector for options given several times and/or comma separated. */
export const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value.split(",").filter(Boolean),
];

/** A commander parser for a whole number in [min, max]; `what` names the unit in the message. */
export function integerOption(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what} from ${min} to ${max}`);
    return n;
  };
}

/** Seconds, as `--timeout`-like options take them: a positive number up to an hour. */
export function secondsOption(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0.001 || seconds > 3600)
    throw new InvalidArgumentError("expected a number of seconds from 0.001 to 3600");
  return seconds;
}

/**
 * Network deadlines from `BOOTSTREAM_TIMEOUT` (seconds; connect and idle alike), so an
 * operator or a test can shorten how long any command waits on a silent peer.
 */
export function deadlinesFrom(env: CliContext["env"]): Deadlines {
  const text = env.BOOTSTREAM_TIMEOUT;
  if (text === undefined || text === "") return {};
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new BootstreamError(
      "USAGE",
      `BOOTSTREAM_TIMEOUT=${JSON.stringify(text)}: expected a number of seconds from 0.001 to 3600`,
    );
  const ms = Math.max(1, Math.round(seconds * 1000));
  // A whole small document gets a few idle periods: enough for a slow link, not for a drip.
  return { connectTimeoutMs: ms, idleTimeoutMs: ms, totalTimeoutMs: ms * 4 };
}

/** `--stream NAME` of the commands that make streams: the name becomes part of URLs, file names and store keys. */
export function parseStreamName(value: string): string {
  if (!isStreamName(value)) throw new InvalidArgumentError(`expected ${STREAM_NAME_EXPECTATION}`);
  return value;
}

/** `--last-modified TIME`: what a stream's metadata.last-modified accepts. */
export function parseTimestamp(value: string): string {
  if (!isRfc3339(value))
    throw new InvalidArgumentError(
      "expected an RFC 3339 time of a real instant like 2024-05-31T14:21:46Z (no leap second, no impossible date)",
    );
  return value;
}

/** `--indent N` of the commands that write canonical JSON. */
export const parseIndent = integerOption(0, MAX_INDENT, "a whole number");

/**
 * Adds `-a, --arch <arch>` to `command`, with `--architecture` as another name for the same
 * option (hidden from help; every command takes both). With `hostArch` it is one architecture
 * defaulting to this machine's; without, a list (comma separated or repeated) and no default.
 * The value is in the command's options as `arch`.
 */
export function withArchOption(command: Command, hostArch?: string): Command {
  const multiple = hostArch === undefined;
  const option = multiple
    ? new Option(
        "-a, --arch <arch>",
        "only these architectures, comma separated or repeated (also --architecture)",
      ).argParser(collectList)
    : new Option(
        "-a, --arch <arch>",
        "architecture (x86_64, aarch64, ppc64le, s390x, ...; also --architecture)",
      ).default(hostArch);
  command.addOption(option).addOption(new Option("--architecture <arch>", "same as --arch").hideHelp());
  command.on("option:architecture", (value: string) => {
    const given = command.getOptionValueSource("arch") === "cli";
    const previous = given ? (command.getOptionValue("arch") as string[]) : undefined;
    command.setOptionValueWithSource("arch", multiple ? collectList(value, previous) : value, "cli");
  });
  return command;
}

/** How commands read SOURCE arguments: stdin from the context, the stream base URL from flag or env. */
export function sourceOptions(ctx: CliContext, opts: { streamBaseUrl?: string }): ReadSourceOptions {
  const baseUrl = opts.streamBaseUrl ?? ctx.env.BOOTSTREAM_STREAM_BASE_URL;
  return {
    stdin: ctx.stdin,
    deadlines: deadlinesFrom(ctx.env),
    ...(baseUrl ? { streamBaseUrl: baseUrl } : {}),
  };
}

export function streamBaseUrlOption(): Option {
  return new Option(
    "--stream-base-url <url>",
    "where bare stream names resolve (env BOOTSTREAM_STREAM_BASE_URL)",
  );
}

/** The key files a stream must be signed by: --stream-key, then the env's BOOTSTREAM_STREAM_KEYRING. */
export function streamKeyFiles(ctx: CliContext, files: readonly string[] = []): string[] {
  const keyring = ctx.env.BOOTSTREAM_STREAM_KEYRING;
  return keyring ? [...files, keyring] : [...files];
}

/** Flags of the commands that read a stream and act on it (see source/trusted.ts). */
export interface TrustFlags {
  streamKey?: string[];
  streamSignature?: string;
  stateDir?: string;
  maxAge?: string;
  allowRollback?: boolean;
  verbose?: boolean;
}

/** Adds --stream-key and the other trust flags to a command that reads streams. */
export function withTrustOptions(command: Command): Command {
  return command
    .option(
      "--stream-key <file>",
      "accept the stream only if signed by one of these public keys (repeatable; env BOOTSTREAM_STREAM_KEYRING)",
      collectList,
    )
    .option("--stream-signature <source>", "the stream's detached signature (default: looked up beside it)")
    .option(
      "--state-dir <dir>",
      "trust state refusing rollbacks (default with a key: $XDG_STATE_HOME/bootstream or ~/.local/state/bootstream)",
    )
    .option(
      "--max-age <duration>",
      "refuse a stream last modified longer ago, e.g. 14d (env BOOTSTREAM_MAX_AGE)",
    )
    .option("--allow-rollback", "accept a stream older than the newest accepted, once, and remember it")
    .option("-v, --verbose", "say who signed the stream (on stderr)")
    .addHelpText(
      "after",
      "\nStream trust: with --stream-key a stream without a valid signature is exit 4; one older than\nthe newest accepted from that URL, or than --max-age, is exit 5. Nothing is acted on before.",
    );
}

/**
 * sourceOptions plus the trust checks the flags and environment ask for: every stream read
 * is verified before the command sees it. Keys load on the first read (and openpgp with them).
 */
export function streamSourceOptions(
  ctx: CliContext,
  flags: { streamBaseUrl?: string } & TrustFlags,
  /** Told how each stream was accepted (mirror keeps the signature that verified). */
  onAccepted?: (verdict: TrustVerdict) => void,
): ReadSourceOptions {
  const read = sourceOptions(ctx, flags);
  const keyFiles = streamKeyFiles(ctx, flags.streamKey);
  const maxAge = flags.maxAge ?? (ctx.env.BOOTSTREAM_MAX_AGE || undefined);
  const asked =
    keyFiles.length > 0 ||
    maxAge !== undefined ||
    flags.stateDir !== undefined ||
    flags.streamSignature !== undefined ||
    flags.allowRollback === true;
  if (!asked) return read;
  let check: Promise<(source: SourceBytes) => Promise<void>> | undefined;
  const makeCheck = async () => {
    const { defaultStateDir } = await import("../source/trust-state.ts");
    const { trustCheck } = await import("../source/trusted.ts");
    const keys = await keysFrom(keyFiles);
    const trust: TrustOptions = {
      keys,
      ...(flags.stateDir !== undefined
        ? { stateDir: flags.stateDir }
        : keys.length > 0
          ? { stateDir: defaultStateDir(ctx.env) }
          : {}),
      ...(maxAge === undefined ? {} : { maxAge }),
      ...(flags.streamSignature === undefined ? {} : { signature: flags.streamSignature }),
      ...(flags.allowRollback ? { allowRollback: true } : {}),
    };
    return trustCheck(trust, read, (verdict) => {
      onAccepted?.(verdict);
      if (!flags.verbose) return;
      const signer = verdict.signature
        ? `good signature from key ${verdict.signature.fingerprint} (${verdict.signature.from}${verdict.upstream ? ", over the mirror's upstream copy" : ""})`
        : "not signature-checked";
      writeLine(
        ctx.stderr,
        `${verdict.name}: ${signer}; last-modified ${verdict.lastModified ?? "not checked"}`,
      );
    });
  };
  return {
    ...read,
    accept: async (source) => {
      check ??= makeCheck();
      await (await check)(source);
    },
  };
}

/** The policy in `path` (`--policy` of lint, publish and serve; YAML or JSON), or the default policy. */
export async function policyFrom(path: string | undefined): Promise<Policy> {
  // Loaded here, not at the top: every command imports this module (zod schemas, YAML).
  const { DEFAULT_POLICY, parsePolicy } = await import("../lint/policy.ts");
  if (path === undefined) return DEFAULT_POLICY;
  return parsePolicy(new TextDecoder().decode(await readLocalFile(path, "policy")), path);
}

/** The --store / --s3-endpoint options of commands that work on a published store. */
export interface StoreFlags {
  store: string;
  s3Endpoint?: string;
}

export function withStoreOptions(command: Command): Command {
  return command
    .requiredOption(
      "--store <location>",
      "a directory, or s3://BUCKET/PREFIX (credentials from the usual AWS environment variables)",
    )
    .addOption(new Option("--s3-endpoint <url>", "S3-compatible endpoint (env AWS_ENDPOINT_URL)"));
}

export async function storeFrom(ctx: CliContext, flags: StoreFlags): Promise<Store> {
  const { openStore } = await import("../storage/index.ts");
  const endpoint = flags.s3Endpoint ?? ctx.env.AWS_ENDPOINT_URL;
  return openStore(flags.store, {
    ...(endpoint ? { endpoint } : {}),
    ...(ctx.env.AWS_REGION ? { region: ctx.env.AWS_REGION } : {}),
  });
}
