/** `bootstream verify FILE --key PUB.asc`: check a detached OpenPGP signature. */
import { Command } from "commander";
import { verifyDetached } from "../signature/index.ts";
import { readSource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { collectList, keysFrom, sourceOptions } from "./options.ts";

export function registerVerify(kit: CommandKit): Command {
  const { ctx } = kit;
  return new Command("verify")
    .description("verify a file's detached OpenPGP signature (FILE.asc unless --signature)")
    .argument("<source>", "the signed file (path or URL)")
    .requiredOption("--key <file>", "public key(s), armored or binary (repeatable)", collectList)
    .option("--signature <source>", "the signature (default: SOURCE.asc)")
    .addHelpText(
      "after",
      `
Exit status: 0 good signature, 4 bad signature, 2 error (unreadable file or key).

Examples:
  bootstream verify /srv/streams/streams/stable.json --key release-pub.asc
  bootstream verify https://mirror.example/streams/stable/20260721.json --key release-pub.asc`,
    )
    .action((source: string, flags: { key: string[]; signature?: string }) =>
      kit.run(false, async () => {
        const read = sourceOptions(ctx, {});
        const keys = await keysFrom(flags.key);
        const file = await readSource(source, read);
        const signature = await readSource(flags.signature ?? `${source}.asc`, {
          ...read,
          maxBytes: 1024 * 1024,
        });
        const keyId = await verifyDetached(file.bytes, signature.bytes, keys);
        writeLine(ctx.stderr, `${file.name}: good signature from key ${keyId}`);
        return 0;
      }),
    );
}
