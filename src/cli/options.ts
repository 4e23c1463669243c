/** Small option helpers shared by commands (kept free of heavy imports: commands load lazily). */
import { InvalidArgumentError, Option } from "commander";
import { MAX_INDENT } from "../canonical/write.ts";
import { BootstreamError } from "../errors.ts";
import type { Deadlines } from "../net/http.ts";
import { type ReadSourceOptions, readFileCapped } from "../source/read.ts";
import type { CliContext } from "./context.ts";

/** Keys, policies and token files are kilobytes; a keyring of many keys stays far below this. */
const LOCAL_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** A key, policy or token file named on the command line, capped: `--key /dev/zero` must not fill memory. */
export async function readLocalFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFileCapped(path, LOCAL_FILE_MAX_BYTES, `a ${what}`);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new BootstreamError(
      cause instanceof BootstreamError ? cause.code : "IO",
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

/** `--indent N` of the commands that write canonical JSON. */
export const parseIndent = integerOption(0, MAX_INDENT, "a whole number");

/** `-a, --arch`, defaulting to this machine's architecture. */
export function archOption(hostArch: string): Option {
  return new Option("-a, --arch <arch>", "architecture (x86_64, aarch64, ppc64le, s390x, ...)").default(
    hostArch,
  );
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
