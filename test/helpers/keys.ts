/** OpenPGP keys for tests: small, fast ecc keys (what release keys are made with does not matter here). */
import * as openpgp from "openpgp";

/** A fresh key pair; `name` goes in its user id. */
export function testKey(
  name: string,
): Promise<{ privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey }> {
  return openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name }],
    format: "object",
  });
}
