/** The --store / --s3-endpoint options shared by commands that work on a published store. */
import { type Command, Option } from "commander";
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

export function storeFrom(ctx: CliContext, flags: StoreFlags): Promise<Store> {
  const endpoint = flags.s3Endpoint ?? ctx.env.AWS_ENDPOINT_URL;
  return openStore(flags.store, {
    ...(endpoint ? { endpoint } : {}),
    ...(ctx.env.AWS_REGION ? { region: ctx.env.AWS_REGION } : {}),
  });
}
