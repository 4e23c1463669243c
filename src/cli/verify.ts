/** `bootstream verify FILE --key PUB.asc`: check a detached OpenPGP signature. */
import { Command } from "commander";
import { BootstreamError } from "../errors.ts";
import { type SignatureCheck, verifyDetached } from "../signature/index.ts";
import { readSource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { collectList, keysFrom, sourceOptions } from "./options.ts";

export function registerVerify(kit: CommandKit): Command {
  const { ctx } = kit;
  return new Command("verify")
    .description("verify a file's detached OpenPGP signature (FILE.asc unless --signature)")
    .argument("<source>", "the signed file (path or URL)")
    .requiredOption("--key <file>", "public key(s), armored or binary, a keyring (repeatable)", collectList)
    .option("--signature <source>", "the signature (default: SOURCE.asc)")
    .addHelpText(
      "after",
      `
Exit status: 0 good signature (the signer's fingerprint is printed), 4 bad signature or one
by a key not given, expired or revoked, 2 error (unreadable file or key). A --key file may
hold several keys (a keyring, armored blocks one after another) and revocation certificates.

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
        let signer: SignatureCheck;
        try {
          signer = await verifyDetached(file.bytes, signature.bytes, keys);
        } catch (error) {
          if (!(error instanceof BootstreamError)) throw error;
          throw new BootstreamError(error.code, `${file.name}: ${error.message}`, {
            cause: error,
            path: file.name,
          });
        }
        // The fingerprint is what a user compares with the one published; a subkey id says which
        // key of it signed. A key id is the end of a v4 fingerprint (40 digits), the start of a v6 one.
        const { fingerprint, keyId } = signer;
        const primary =
          fingerprint.length === 40 ? fingerprint.endsWith(keyId) : fingerprint.startsWith(keyId);
        const subkey = primary ? "" : ` (signing subkey ${keyId})`;
        writeLine(ctx.stderr, `${file.name}: good signature from key ${fingerprint}${subkey}`);
        return 0;
      }),
    );
}
