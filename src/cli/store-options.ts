/** The --store / --s3-endpoint options shared by commands that work on a published store. */
import { readFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { BootstreamError } from "../errors.ts";
import { createSigner, readPublicKeys, type Signer } from "../signature/index.ts";
import { openStore } from "../storage/index.ts";
import type { Store } from "../storage/store.ts";
import type { CliContext } from "./context.ts";

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

export function storeFrom(ctx: CliContext, flags: StoreFlags): Store {
  const endpoint = flags.s3Endpoint ?? ctx.env.AWS_ENDPOINT_URL;
  return openStore(flags.store, {
    ...(endpoint ? { endpoint } : {}),
    ...(ctx.env.AWS_REGION ? { region: ctx.env.AWS_REGION } : {}),
  });
}

export async function readLocalFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new BootstreamError("IO", `cannot read ${what} ${path}: ${(cause as Error).message}`, {
      cause,
      path,
    });
  }
}

export async function signerFrom(ctx: CliContext, keyFile: string | undefined): Promise<Signer | undefined> {
  if (keyFile === undefined) return undefined;
  const armored = new TextDecoder().decode(await readLocalFile(keyFile, "signing key"));
  return createSigner(armored, ctx.env.BOOTSTREAM_SIGN_PASSPHRASE);
}

export async function keysFrom(files: readonly string[]) {
  const keys = [];
  for (const file of files) keys.push(...(await readPublicKeys(await readLocalFile(file, "public key"))));
  return keys;
}

export const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value.split(",").filter(Boolean),
];
