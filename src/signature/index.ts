/**
 * Detached OpenPGP signatures (openpgp.js): armored `.asc` files for what bootstream
 * publishes, and verification of those or of a distribution's `.sig` files (binary or
 * armored) against the keys a user provides.
 */
import * as openpgp from "openpgp";
import { BootstreamError } from "../errors.ts";

export interface Signer {
  /** Fingerprint of the signing key, for messages. */
  readonly fingerprint: string;
  /** An armored detached signature of exactly these bytes. */
  sign(bytes: Uint8Array): Promise<string>;
}

export async function createSigner(armoredPrivateKey: string, passphrase?: string): Promise<Signer> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
    if (!key.isDecrypted()) {
      if (passphrase === undefined) {
        throw new BootstreamError(
          "USAGE",
          "the signing key is protected by a passphrase; provide it (BOOTSTREAM_SIGN_PASSPHRASE)",
        );
      }
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    }
  } catch (cause) {
    if (cause instanceof BootstreamError) throw cause;
    throw new BootstreamError("USAGE", `cannot use the signing key: ${(cause as Error).message}`, { cause });
  }
  const signingKey = key;
  return {
    fingerprint: signingKey.getFingerprint(),
    async sign(bytes) {
      const message = await openpgp.createMessage({ binary: bytes });
      return (await openpgp.sign({
        message,
        signingKeys: signingKey,
        detached: true,
        format: "armored",
      })) as string;
    },
  };
}

/** Reads one or more public keys from armored or binary key material. */
export async function readPublicKeys(material: Uint8Array): Promise<openpgp.Key[]> {
  const text = new TextDecoder().decode(material);
  try {
    return text.includes("-----BEGIN PGP")
      ? await openpgp.readKeys({ armoredKeys: text })
      : await openpgp.readKeys({ binaryKeys: material });
  } catch (cause) {
    throw new BootstreamError("USAGE", `cannot read the public key(s): ${(cause as Error).message}`, {
      cause,
    });
  }
}

async function readSignature(signature: Uint8Array): Promise<openpgp.Signature> {
  const text = new TextDecoder().decode(signature);
  try {
    return text.includes("-----BEGIN PGP SIGNATURE")
      ? await openpgp.readSignature({ armoredSignature: text })
      : await openpgp.readSignature({ binarySignature: signature });
  } catch (cause) {
    throw new BootstreamError("SIGNATURE_INVALID", `not an OpenPGP signature: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Verifies a detached signature over `bytes`; returns the signing key id. Throws SIGNATURE_INVALID. */
export async function verifyDetached(
  bytes: Uint8Array,
  signature: Uint8Array,
  keys: readonly openpgp.Key[],
): Promise<string> {
  const sig = await readSignature(signature);
  const message = await openpgp.createMessage({ binary: bytes });
  const result = await openpgp.verify({
    message,
    signature: sig,
    verificationKeys: [...keys],
    format: "binary",
  });
  return signingKeyOf(result.signatures);
}

/** The key id of the first signature once it verified; SIGNATURE_INVALID otherwise. */
async function signingKeyOf(signatures: openpgp.VerifyMessageResult["signatures"]): Promise<string> {
  const first = signatures[0];
  if (first === undefined)
    throw new BootstreamError("SIGNATURE_INVALID", "the signature file holds no signature");
  try {
    await first.verified;
  } catch (cause) {
    throw new BootstreamError("SIGNATURE_INVALID", `bad signature: ${(cause as Error).message}`, { cause });
  }
  return first.keyID.toHex();
}

export interface StreamVerifier {
  /** Feed the signed bytes here, in order, then end it. */
  input: import("node:stream").Writable;
  /** The signing key id once all bytes are in; SIGNATURE_INVALID otherwise. */
  result: Promise<string>;
}

/**
 * Verifies a detached signature over bytes that arrive as a stream (a download), without
 * holding them in memory: openpgp.js hashes as the data passes through.
 */
export async function createStreamVerifier(
  signature: Uint8Array,
  keys: readonly openpgp.Key[],
): Promise<StreamVerifier> {
  const { PassThrough, Readable } = await import("node:stream");
  const sig = await readSignature(signature);
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const web = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
  const result = (async () => {
    const message = await openpgp.createMessage({ binary: web });
    const verification = await openpgp.verify({
      message,
      signature: sig,
      verificationKeys: [...keys],
      format: "binary",
    });
    // The hash advances only as the verified data is read: drain it.
    const reader = (verification.data as unknown as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    return signingKeyOf(verification.signatures);
  })();
  // Avoid an unhandled rejection before the caller awaits it.
  result.catch(() => undefined);
  return { input, result };
}
