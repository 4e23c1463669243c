/**
 * The public half of a signing key, read from the private key file itself: with it a rerun
 * of publish can tell a stale `.asc` (not verifying) from a good one without asking the
 * operator for a second file. Public key packets are never encrypted, so no passphrase.
 */
import type { Key } from "openpgp";

export async function publicKeysOfSigningKey(material: Uint8Array): Promise<Key[]> {
  const { readPublicKeys } = await import("../signature/index.ts");
  return (await readPublicKeys(material)).map((key) => (key.isPrivate() ? key.toPublic() : key));
}
