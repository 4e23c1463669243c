/**
 * A publisher process that stops between steps, for race and crash tests. It drives the
 * library's `afterStep` hook of publishStream (the CLI has no test hook): after the step named
 * by --pause-after it prints "paused after STEP" on stderr and waits until the --barrier file
 * exists (or for ever, for tests that kill it there). Otherwise it does what
 * `bootstream publish SOURCE --store LOCATION [--force] [--retry] [--sign-key FILE]` does,
 * with the same output and exit status.
 *
 *   node --import tsx test/helpers/paused-publisher.ts SOURCE --store LOC --pause-after STEP [--barrier FILE]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { BootstreamError } from "../../src/errors.ts";
import { type PublishOptions, type PublishStep, publishStream } from "../../src/publish/publish.ts";
import { publicKeysOfSigningKey } from "../../src/publish/signing-keys.ts";
import { createSigner } from "../../src/signature/index.ts";
import { openStore } from "../../src/storage/index.ts";
import { untilFileExists } from "./wait.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    store: { type: "string" },
    "pause-after": { type: "string" },
    barrier: { type: "string" },
    force: { type: "boolean" },
    retry: { type: "boolean" },
    "sign-key": { type: "string" },
  },
});
const [source] = positionals;
const pauseAfter = values["pause-after"] as PublishStep | undefined;
const barrier = values.barrier;
if (source === undefined || values.store === undefined || pauseAfter === undefined)
  throw new Error("usage: paused-publisher SOURCE --store LOCATION --pause-after STEP [--barrier FILE]");

const endpoint = process.env.AWS_ENDPOINT_URL;
const store = await openStore(values.store, {
  ...(endpoint ? { endpoint } : {}),
  ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
});
const options: PublishOptions = {
  ...(values.force ? { force: true } : {}),
  ...(values.retry ? { retries: 3 } : {}),
  afterStep: async (step) => {
    if (step !== pauseAfter) return;
    process.stderr.write(`paused after ${step}\n`);
    // Without a barrier it waits for ever: the test kills it here (that is the behaviour under test).
    if (barrier === undefined) await new Promise<never>(() => {});
    else await untilFileExists(barrier, { timeoutMs: 120_000 });
  },
};
const signKey = values["sign-key"];
if (signKey !== undefined) {
  const armored = readFileSync(signKey);
  options.signer = await createSigner(armored.toString("utf8"), process.env.BOOTSTREAM_SIGN_PASSPHRASE);
  options.signerKeys = await publicKeysOfSigningKey(armored);
}
try {
  const result = await publishStream(store, readFileSync(source), options);
  process.stdout.write(`streams/${result.name}/${result.id}.json\n`);
  process.stderr.write(`published ${result.name} as ${result.id}\n`);
} catch (error) {
  if (!(error instanceof BootstreamError)) throw error;
  process.stderr.write(`bootstream: ${error.message}\n`);
  process.exitCode = error.exitCode;
}
