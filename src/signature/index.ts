/**
 * Detached OpenPGP signatures (openpgp.js): armored `.asc` files for what bootstream
 * publishes, and verification of those or of a distribution's `.sig` files (binary or
 * armored) against the keys a user provides.
 *
 * A signature is accepted only from a key that is valid now: openpgp.js checks a key at the
 * time the signature claims it was made, so a key that expired or was revoked since would
 * still pass there. Keys are rotated by listing old and new ones together; any one of them
 * that made a good signature is enough.
 */
import * as openpgp from "openpgp";
import { BootstreamError } from "../errors.ts";
import { formatTimestamp } from "../schema/common.ts";

export interface Signer {
  /** Fingerprint of the signing key, for messages. */
  readonly fingerprint: string;
  /** An armored detached signature of exactly these bytes. */
  sign(bytes: Uint8Array): Promise<string>;
}

/** Who made a signature that verified. */
export interface SignatureCheck {
  /** The issuer key id the signature names (16 uppercase hex digits; a subkey's when a subkey signed). */
  keyId: string;
  /** Fingerprint of the primary key that made the signature, uppercase hex. */
  fingerprint: string;
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

/** One armored key block (public or private), from its BEGIN line to its END line. */
const ARMORED_KEY_BLOCK =
  /^-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----\r?\n[\s\S]*?^-----END PGP \1 KEY BLOCK-----/gm;

/**
 * Reads the public keys of key material: binary (one key or a keyring) or armored, where a
 * file may hold several armored blocks one after another (a keyring file, `cat a.asc b.asc`).
 * A block that is a revocation certificate (what `gpg --gen-revoke` writes) revokes the key
 * of the same material it belongs to. Private keys are accepted as they are.
 */
export async function readPublicKeys(material: Uint8Array): Promise<openpgp.Key[]> {
  const text = new TextDecoder().decode(material);
  const fail = (cause: unknown, where = "") =>
    new BootstreamError("USAGE", `cannot read the public key(s)${where}: ${(cause as Error).message}`, {
      cause,
    });
  if (!text.includes("-----BEGIN PGP")) {
    try {
      return await openpgp.readKeys({ binaryKeys: material });
    } catch (cause) {
      throw fail(cause);
    }
  }
  const blocks = text.match(ARMORED_KEY_BLOCK) ?? [text];
  const keys: openpgp.Key[] = [];
  const certificates: { block: string; index: number; cause: unknown }[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      keys.push(...(await openpgp.readKeys({ armoredKeys: block })));
    } catch (cause) {
      // Perhaps a revocation certificate, for a key that may come later in the file.
      certificates.push({ block, index, cause });
    }
  }
  for (const { block, index, cause } of certificates) {
    const where = blocks.length > 1 ? ` (armored block ${index + 1} of ${blocks.length})` : "";
    if (!(await applyRevocation(keys, block))) throw fail(cause, where);
  }
  return keys;
}

/** Revokes the key of `keys` that `certificate` is a revocation certificate for; false if none. */
async function applyRevocation(keys: openpgp.Key[], certificate: string): Promise<boolean> {
  for (const [i, key] of keys.entries()) {
    try {
      const { publicKey } = await openpgp.revokeKey({
        key: key.toPublic(),
        revocationCertificate: certificate,
        format: "object",
      });
      keys[i] = publicKey;
      return true;
    } catch {
      // Not this key's certificate (or no certificate at all): try the next key.
    }
  }
  return false;
}

/** The uppercase fingerprints of these keys' primary keys, each once, for messages. */
export function keyFingerprints(keys: readonly openpgp.Key[]): string[] {
  return [...new Set(keys.map((key) => key.getFingerprint().toUpperCase()))];
}

const ARMORED_SIGNATURE_BLOCK = /-----BEGIN PGP SIGNATURE-----[\s\S]*?-----END PGP SIGNATURE-----/g;

/**
 * The signature packets of a `.asc` or binary signature file. Several armored blocks are
 * read as one signature of several packets: `cat old.asc new.asc` is how a key rotation signs
 * with both keys, and gpg --verify accepts any of them.
 */
async function readSignature(signature: Uint8Array): Promise<openpgp.Signature> {
  const text = new TextDecoder().decode(signature);
  try {
    if (!text.includes("-----BEGIN PGP SIGNATURE"))
      return await openpgp.readSignature({ binarySignature: signature });
    const blocks = text.match(ARMORED_SIGNATURE_BLOCK) ?? [text];
    const [first, ...rest] = await Promise.all(
      blocks.map((armoredSignature) => openpgp.readSignature({ armoredSignature })),
    );
    if (first === undefined) throw new Error("no signature block");
    for (const more of rest) first.packets.push(...more.packets);
    return first;
  } catch (cause) {
    throw new BootstreamError("SIGNATURE_INVALID", `not an OpenPGP signature: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * Verifies a detached signature over `bytes` by one of `keys`, a key that is neither expired
 * nor revoked now. Throws SIGNATURE_INVALID saying why otherwise: which key made the
 * signature and the keys tried when none of them did, the expiry or revocation of the key
 * that did, or that the signature does not match the bytes.
 */
export async function verifyDetached(
  bytes: Uint8Array,
  signature: Uint8Array,
  keys: readonly openpgp.Key[],
  options: { exactBytes?: boolean } = {},
): Promise<SignatureCheck> {
  const sig = await readSignature(signature);
  if (options.exactBytes) refuseTextMode(sig);
  const plan = await planVerification(sig, keys);
  if (plan.usable.length === 0) throw plan.refusal();
  const verification = await runVerify(plan, await openpgp.createMessage({ binary: bytes }));
  return outcome(plan, verification.signatures);
}

/**
 * A text-mode signature (gpg --textmode) is over the bytes with line endings normalised, so
 * it also verifies a CRLF copy: where the exact bytes matter (a stream, whose sha256 names it
 * in history and in the client's state), only binary signatures bind them.
 */
function refuseTextMode(sig: openpgp.Signature): void {
  for (const packet of sig.packets)
    if (packet.signatureType !== openpgp.enums.signature.binary)
      throw new BootstreamError(
        "SIGNATURE_INVALID",
        "a text-mode signature (gpg --textmode) does not bind exact bytes: sign the stream as binary (gpg --detach-sign)",
      );
}

export interface StreamVerifier {
  /** Feed the signed bytes here, in order, then end it. */
  input: import("node:stream").Writable;
  /** Who signed, once all bytes are in; SIGNATURE_INVALID otherwise. */
  signer: Promise<SignatureCheck>;
  /** The signing key id (lowercase hex) once all bytes are in; SIGNATURE_INVALID otherwise. */
  result: Promise<string>;
}

/**
 * Verifies a detached signature over bytes that arrive as a stream (a download), without
 * holding them in memory: openpgp.js hashes as the data passes through. The same keys are
 * accepted as by verifyDetached.
 */
export async function createStreamVerifier(
  signature: Uint8Array,
  keys: readonly openpgp.Key[],
): Promise<StreamVerifier> {
  const { PassThrough, Readable } = await import("node:stream");
  const sig = await readSignature(signature);
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const signer = (async () => {
    const plan = await planVerification(sig, keys);
    if (plan.usable.length === 0) {
      // The writer still waits for room: let its bytes pass, unread, to the end.
      input.resume();
      throw plan.refusal();
    }
    const web = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
    const verification = await runVerify(plan, await openpgp.createMessage({ binary: web }));
    // The hash advances only as the verified data is read: drain it.
    const reader = (verification.data as unknown as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    return outcome(plan, verification.signatures);
  })();
  const result = signer.then((check) => check.keyId.toLowerCase());
  // Avoid an unhandled rejection before the caller awaits one of them.
  signer.catch(() => undefined);
  result.catch(() => undefined);
  return { input, signer, result };
}

/** A signature packet with the key that may have made it, valid now. */
interface Candidate {
  packet: openpgp.SignaturePacket;
  key: openpgp.Key;
  check: SignatureCheck;
}

interface Plan {
  usable: Candidate[];
  /** Why the packets without a usable key were refused, one sentence each. */
  refused: string[];
  refusal(extra?: readonly string[]): BootstreamError;
}

/**
 * Pairs each signature packet with the given key that holds its issuer (the key openpgp.js
 * would pick) and sets aside those whose key is missing, expired or revoked.
 */
async function planVerification(sig: openpgp.Signature, keys: readonly openpgp.Key[]): Promise<Plan> {
  const packets = sig.packets.filter(
    (p) =>
      p.signatureType === openpgp.enums.signature.binary || p.signatureType === openpgp.enums.signature.text,
  );
  const given = await mergeCopies(keys);
  const usable: Candidate[] = [];
  const refused: string[] = [];
  const now = new Date();
  for (const packet of packets) {
    const keyId = packet.issuerKeyID.toHex().toUpperCase();
    const key = given.find((k) => k.getKeys(packet.issuerKeyID).length > 0);
    const signingKey = key?.getKeys(packet.issuerKeyID)[0];
    if (key === undefined || signingKey === undefined) {
      const tried = keyFingerprints(given);
      refused.push(
        `bad signature: it was made by key ${keyId}, which is none of the keys given${
          tried.length === 0 ? " (no keys were given)" : `: ${tried.join(", ")}`
        }`,
      );
      continue;
    }
    const fingerprint = key.getFingerprint().toUpperCase();
    const why = await invalidNow(key, signingKey, now);
    if (why !== undefined) {
      refused.push(`signature by key ${fingerprint} refused: ${why}`);
      continue;
    }
    usable.push({ packet, key, check: { keyId, fingerprint } });
  }
  return {
    usable,
    refused,
    refusal(extra = []) {
      const reasons = [...refused, ...extra];
      return new BootstreamError(
        "SIGNATURE_INVALID",
        reasons.length === 0 ? "the signature file holds no signature" : reasons.join("; "),
      );
    },
  };
}

/** One key per fingerprint: copies given twice (say, before and after a revocation) are merged. */
async function mergeCopies(keys: readonly openpgp.Key[]): Promise<openpgp.Key[]> {
  const byFingerprint = new Map<string, openpgp.Key>();
  for (const key of keys) {
    const fingerprint = key.getFingerprint();
    const seen = byFingerprint.get(fingerprint);
    if (seen === undefined) {
      byFingerprint.set(fingerprint, key);
      continue;
    }
    try {
      byFingerprint.set(fingerprint, await seen.update(key.toPublic()));
    } catch {
      // A copy that does not merge adds nothing the first copy lacks.
    }
  }
  return [...byFingerprint.values()];
}

const REVOCATION_REASONS: Partial<Record<openpgp.enums.reasonForRevocation, string>> = {
  [openpgp.enums.reasonForRevocation.keySuperseded]: "superseded",
  [openpgp.enums.reasonForRevocation.keyCompromised]: "compromised",
  [openpgp.enums.reasonForRevocation.keyRetired]: "retired",
};

/** Why `key` (or its subkey `signingKey`) must not be trusted for a signature now; undefined if it may. */
async function invalidNow(
  key: openpgp.Key,
  signingKey: openpgp.Key | openpgp.Subkey,
  now: Date,
): Promise<string | undefined> {
  const primary = key.keyPacket;
  const keyRevocation = await validRevocation(
    key.revocationSignatures,
    primary,
    openpgp.enums.signature.keyRevocation,
    { key: primary },
    now,
  );
  if (keyRevocation !== undefined) return `the key is revoked${revocationReason(keyRevocation)}`;
  const expires = await key.getExpirationTime();
  if (expires instanceof Date && expires <= now) return `the key expired on ${formatTimestamp(expires)}`;
  if (signingKey instanceof openpgp.Subkey) {
    const subkey = `its signing subkey ${signingKey.getFingerprint().toUpperCase()}`;
    const subkeyRevocation = await validRevocation(
      signingKey.revocationSignatures,
      primary,
      openpgp.enums.signature.subkeyRevocation,
      { key: primary, bind: signingKey.keyPacket },
      now,
    );
    if (subkeyRevocation !== undefined) return `${subkey} is revoked${revocationReason(subkeyRevocation)}`;
    const subkeyExpires = await signingKey.getExpirationTime(now);
    if (subkeyExpires instanceof Date && subkeyExpires <= now)
      return `${subkey} expired on ${formatTimestamp(subkeyExpires)}`;
  }
  // Anything else openpgp.js would not sign with now (no valid self-signature, a key that may not sign).
  try {
    await key.getSigningKey(signingKey.getKeyID(), now);
  } catch (cause) {
    return `the key is not valid for signing now (${(cause as Error).message})`;
  }
  return undefined;
}

/** The first revocation signature that the key itself made over `data`, valid now. */
async function validRevocation(
  revocations: readonly openpgp.SignaturePacket[],
  primary: openpgp.Key["keyPacket"],
  type: openpgp.enums.signature,
  data: object,
  now: Date,
): Promise<openpgp.SignaturePacket | undefined> {
  for (const revocation of revocations) {
    try {
      await revocation.verify(primary, type, data, now);
      return revocation;
    } catch {
      // A revocation that does not verify (forged, or by another key) revokes nothing.
    }
  }
  return undefined;
}

/** " (compromised: "lost")": the reason a revocation gives, quoted (it is the key holder's text). */
function revocationReason(revocation: openpgp.SignaturePacket): string {
  const flag = revocation.reasonForRevocationFlag;
  const why = flag === null ? undefined : REVOCATION_REASONS[flag];
  const text = revocation.reasonForRevocationString?.slice(0, 200) || undefined;
  const parts = [why, text === undefined ? undefined : JSON.stringify(text)].filter((p) => p !== undefined);
  return parts.length === 0 ? "" : ` (${parts.join(": ")})`;
}

/** openpgp.verify over the usable packets only, with the keys chosen for them. */
async function runVerify<T extends Uint8Array | ReadableStream<Uint8Array>>(
  plan: Plan,
  message: openpgp.Message<T>,
) {
  const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
  packets.push(...plan.usable.map((c) => c.packet));
  try {
    return await openpgp.verify({
      message,
      signature: new openpgp.Signature(packets),
      verificationKeys: [...new Set(plan.usable.map((c) => c.key))],
      format: "binary",
    });
  } catch (cause) {
    throw new BootstreamError(
      "SIGNATURE_INVALID",
      `cannot check the signature: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** The first usable packet whose signature verified; SIGNATURE_INVALID with every reason otherwise. */
async function outcome(
  plan: Plan,
  results: openpgp.VerifyMessageResult["signatures"],
): Promise<SignatureCheck> {
  const bad: string[] = [];
  for (const [i, result] of results.entries()) {
    const candidate = plan.usable[i];
    if (candidate === undefined) continue;
    try {
      await result.verified;
      return candidate.check;
    } catch (cause) {
      bad.push(`bad signature by key ${candidate.check.fingerprint}: ${mismatch(cause)}`);
    }
  }
  throw plan.refusal(bad);
}

/** openpgp.js's reason for a failed check, in the words of this module. */
function mismatch(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/digest did not match|signature verification failed/i.test(message))
    return "it does not match these bytes";
  return message;
}
