/**
 * Keys (issue 13, point 7): interop with the real GnuPG both ways, key rotation through a
 * keyring, and expired, revoked and unknown keys refused with a message that says why.
 * gpg runs in a temporary GNUPGHOME; a missing gpg fails these tests, it does not skip them.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BootstreamError } from "../src/errors.ts";
import {
  createSigner,
  createStreamVerifier,
  keyFingerprints,
  readPublicKeys,
  verifyDetached,
} from "../src/signature/index.ts";
import { spawnBootstream } from "./helpers/cli.ts";
import { fixturePath, tempDir } from "./helpers/fixtures.ts";

const STABLE = fixturePath("fcos-stable-stream.json");

/** A GnuPG home of its own: `gpg(...)` runs non-interactively there, with empty passphrases. */
function gnupgHome() {
  const home = tempDir("bootstream-gnupg-");
  chmodSync(home, 0o700);
  const env = { ...process.env, GNUPGHOME: home };
  const run = (args: readonly string[], options: { input?: string; batch?: boolean } = {}) =>
    execFileSync(
      "gpg",
      [
        ...(options.batch === false ? ["--no-tty"] : ["--batch"]),
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        ...args,
      ],
      { env, input: options.input ?? "", stdio: ["pipe", "pipe", "pipe"] },
    );
  return {
    home,
    gpg: (...args: string[]) => run(args),
    /** gpg --gen-revoke asks its questions even in batch mode; answer them on the command fd. */
    revoke(fingerprint: string, answers: string, output: string) {
      run(["--command-fd", "0", "--armor", "--output", output, "--gen-revoke", fingerprint], {
        input: answers,
        batch: false,
      });
    },
    /** Primary fingerprint first, then the subkeys', of the key with this user id. */
    fingerprints(userId: string): string[] {
      const colons = run(["--with-colons", "--with-subkey-fingerprints", "--list-keys", userId]).toString();
      return colons
        .split("\n")
        .filter((line) => line.startsWith("fpr:"))
        .map((line) => line.split(":")[9] as string);
    },
    stop() {
      spawnSync("gpgconf", ["--kill", "gpg-agent"], { env });
    },
  };
}

type Home = ReturnType<typeof gnupgHome>;

describe("keys, with the real gpg", () => {
  let signer: Home;
  let verifier: Home;
  let dir: string;
  const data = readFileSync(STABLE);
  const at = (name: string) => join(dir, name);
  const fpr: Record<string, string> = {};
  let subkeyFpr: string;
  let expiredSubkeyFpr: string;

  /** `gpg --detach-sign --armor` of the stream as `user`, written to `name`; extra options first. */
  const gpgSign = (user: string, name: string, ...options: string[]) => {
    signer.gpg(...options, "--local-user", user, "--detach-sign", "--armor", "--output", at(name), STABLE);
    return at(name);
  };
  const exportKey = (name: string, ...users: string[]) => {
    writeFileSync(at(name), signer.gpg("--armor", "--export", ...users));
    return at(name);
  };
  const verify = (signature: string, ...keys: string[]) =>
    spawnBootstream(["verify", STABLE, "--signature", signature, ...keys.flatMap((k) => ["--key", k])]);

  before(() => {
    dir = tempDir("bootstream-keys-");
    signer = gnupgHome();
    verifier = gnupgHome();
    const gen = (userId: string, expiry: string, ...options: string[]) => {
      signer.gpg(...options, "--quick-gen-key", userId, "ed25519", "sign", expiry);
      const primary = signer.fingerprints(userId)[0];
      assert.ok(primary, `gpg made a key for ${userId}`);
      return primary;
    };
    fpr.old = gen("old <old@keys.invalid>", "1d");
    fpr.new = gen("new <new@keys.invalid>", "1d");
    fpr.revoked = gen("revoked <revoked@keys.invalid>", "1d");
    // Made, and used, on 2020-01-01: valid when it signed, expired since 2020-01-02.
    const y2020 = (time: string) => `--faked-system-time=20200101T${time}`;
    fpr.expired = gen("expired <expired@keys.invalid>", "1d", y2020("000000"));
    fpr.sub = gen("sub <sub@keys.invalid>", "1d");
    signer.gpg("--quick-add-key", fpr.sub, "ed25519", "sign", "1d");
    subkeyFpr = signer.fingerprints("sub@keys.invalid")[1] as string;
    fpr.expiredSub = gen("expired-sub <expired-sub@keys.invalid>", "never", y2020("000000"));
    signer.gpg(y2020("000100"), "--quick-add-key", fpr.expiredSub, "ed25519", "sign", "1d");
    expiredSubkeyFpr = signer.fingerprints("expired-sub@keys.invalid")[1] as string;

    gpgSign(fpr.old, "by-old.asc");
    gpgSign(fpr.new, "by-new.asc");
    gpgSign(fpr.revoked, "by-revoked.asc");
    gpgSign(fpr.expired, "by-expired.asc", y2020("120000"));
    gpgSign(fpr.sub, "by-sub.asc");
    gpgSign(fpr.expiredSub, "by-expired-sub.asc", y2020("120000"));

    for (const name of ["old", "new", "expired", "sub", "expiredSub"])
      exportKey(`${name}.asc`, fpr[name] as string);
    exportKey("revoked-before.asc", fpr.revoked);
    signer.revoke(fpr.revoked, "y\n1\nlost to an attacker\n\ny\n", at("revocation.asc"));
    signer.gpg("--import", at("revocation.asc"));
    exportKey("revoked.asc", fpr.revoked);
    writeFileSync(at("keyring.asc"), readFileSync(at("old.asc")) + readFileSync(at("new.asc"), "utf8"));
    writeFileSync(at("keyring.gpg"), signer.gpg("--export", fpr.old, fpr.new));
    writeFileSync(at("secret.asc"), signer.gpg("--armor", "--export-secret-keys", fpr.new));
  });

  after(() => {
    signer?.stop();
    verifier?.stop();
  });

  it("bootstream verify accepts a signature gpg --detach-sign --armor made and prints the signer's fingerprint", async () => {
    const run = await verify(at("by-old.asc"), at("old.asc"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`good signature from key ${fpr.old}\\n`));
  });

  it("verifyDetached names the key id the signature gives and the primary key's fingerprint", async () => {
    const keys = await readPublicKeys(readFileSync(at("old.asc")));
    const check = await verifyDetached(data, readFileSync(at("by-old.asc")), keys);
    assert.deepEqual(check, { keyId: fpr.old?.slice(-16), fingerprint: fpr.old });
  });

  it("a signing subkey's signature verifies as its primary key's, naming the subkey", async () => {
    const keys = await readPublicKeys(readFileSync(at("sub.asc")));
    const check = await verifyDetached(data, readFileSync(at("by-sub.asc")), keys);
    assert.deepEqual(check, { keyId: subkeyFpr.slice(-16), fingerprint: fpr.sub });
    const run = await verify(at("by-sub.asc"), at("sub.asc"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`good signature from key ${fpr.sub} \\(signing subkey ${subkeyFpr.slice(-16)}\\)`),
    );
  });

  it("gpg --verify accepts a signature createSigner made with a key exported from gpg", async () => {
    const sign = await createSigner(readFileSync(at("secret.asc"), "utf8"));
    assert.equal(sign.fingerprint.toUpperCase(), fpr.new);
    writeFileSync(at("by-bootstream.asc"), await sign.sign(data));
    verifier.gpg("--import", at("new.asc"));
    const status = verifier.gpg("--status-fd", "1", "--verify", at("by-bootstream.asc"), STABLE).toString();
    assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG ${fpr.new} `, "m"));
  });

  it("gpg --verify accepts the signatures bootstream publish --sign-key writes", async () => {
    const store = tempDir("bootstream-keys-store-");
    const run = await spawnBootstream(["publish", STABLE, "--store", store, "--sign-key", at("secret.asc")]);
    assert.equal(run.code, 0, run.stderr);
    verifier.gpg("--import", at("new.asc"));
    const pointer = join(store, "streams", "stable.json");
    const status = verifier.gpg("--status-fd", "1", "--verify", `${pointer}.asc`, pointer).toString();
    assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG ${fpr.new} `, "m"));
    // gpg's exit status is what scripts use: other bytes under the same signature fail it.
    writeFileSync(pointer, `${readFileSync(pointer, "utf8")} `);
    const tampered = spawnSync("gpg", ["--batch", "--verify", `${pointer}.asc`, pointer], {
      env: { ...process.env, GNUPGHOME: verifier.home },
    });
    assert.equal(tampered.status, 1, tampered.stderr.toString());
  });

  it("a keyring file of the old and the new key verifies signatures by either (rotation)", async () => {
    for (const keyring of ["keyring.asc", "keyring.gpg"]) {
      const keys = await readPublicKeys(readFileSync(at(keyring)));
      assert.deepEqual(keyFingerprints(keys), [fpr.old, fpr.new], keyring);
    }
    for (const [signature, fingerprint] of [
      ["by-old.asc", fpr.old],
      ["by-new.asc", fpr.new],
    ]) {
      const run = await verify(at(signature as string), at("keyring.asc"));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`good signature from key ${fingerprint}\\n`));
    }
  });

  it("refuses a signature by an expired key (exit 4), saying when it expired", async () => {
    const run = await verify(at("by-expired.asc"), at("expired.asc"), at("new.asc"));
    assert.equal(run.code, 4, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`signature by key ${fpr.expired} refused: the key expired on 2020-01-02T`),
    );
  });

  it("refuses a signature by an expired signing subkey, naming the subkey", async () => {
    const run = await verify(at("by-expired-sub.asc"), at("expiredSub.asc"));
    assert.equal(run.code, 4, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `key ${fpr.expiredSub} refused: its signing subkey ${expiredSubkeyFpr} expired on 2020-01-02T`,
      ),
    );
  });

  it("accepts a signature by the key before its revocation is known, and refuses it after (exit 4), with the reason", async () => {
    const before = await verify(at("by-revoked.asc"), at("revoked-before.asc"));
    assert.equal(before.code, 0, before.stderr);
    const revokedKey = `signature by key ${fpr.revoked} refused: the key is revoked \\(compromised: "lost to an attacker"\\)`;
    // The key as gpg exports it once the revocation is imported.
    const run = await verify(at("by-revoked.asc"), at("revoked.asc"));
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, new RegExp(revokedKey));
    // A keyring file of the key followed by its revocation certificate (what gpg --gen-revoke writes).
    const ring = at("revoked-ring.asc");
    writeFileSync(
      ring,
      readFileSync(at("revoked-before.asc"), "utf8") + readFileSync(at("revocation.asc"), "utf8"),
    );
    const certificate = await verify(at("by-revoked.asc"), ring);
    assert.equal(certificate.code, 4, certificate.stderr);
    assert.match(certificate.stderr, new RegExp(revokedKey));
    // A stale copy of the key given beside the revoked one does not bring it back.
    await assert.rejects(
      verifyDetached(data, readFileSync(at("by-revoked.asc")), [
        ...(await readPublicKeys(readFileSync(at("revoked-before.asc")))),
        ...(await readPublicKeys(readFileSync(at("revoked.asc")))),
      ]),
      (error: BootstreamError) => error.code === "SIGNATURE_INVALID" && /is revoked/.test(error.message),
    );
  });

  it("refuses a signature by none of the keys given (exit 4), naming its key id and every fingerprint tried", async () => {
    const run = await verify(at("by-old.asc"), at("new.asc"), at("expired.asc"));
    assert.equal(run.code, 4, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `made by key ${fpr.old?.slice(-16)}, which is none of the keys given: ${fpr.new}, ${fpr.expired}\\n`,
      ),
    );
  });

  it("refuses other bytes under a good signature (exit 4)", async () => {
    const copy = at("tampered.json");
    writeFileSync(copy, Buffer.concat([data, Buffer.from(" ")]));
    const run = await spawnBootstream([
      "verify",
      copy,
      "--signature",
      at("by-old.asc"),
      "--key",
      at("old.asc"),
    ]);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, new RegExp(`bad signature by key ${fpr.old}: it does not match these bytes`));
  });

  it("the streaming verifier (downloads) accepts the same keys and refuses an expired one", async () => {
    const feed = async (signature: string, keyFile: string) => {
      const verifier = await createStreamVerifier(
        readFileSync(at(signature)),
        await readPublicKeys(readFileSync(at(keyFile))),
      );
      for (let offset = 0; offset < data.length; offset += 4096) {
        if (!verifier.input.write(data.subarray(offset, offset + 4096)))
          await new Promise((resolve) => verifier.input.once("drain", resolve));
      }
      verifier.input.end();
      return verifier;
    };
    const good = await feed("by-new.asc", "keyring.asc");
    assert.deepEqual(await good.signer, { keyId: fpr.new?.slice(-16), fingerprint: fpr.new });
    assert.equal(await good.result, fpr.new?.slice(-16).toLowerCase());
    const expired = await feed("by-expired.asc", "expired.asc");
    await assert.rejects(
      expired.signer,
      (error: BootstreamError) =>
        error.code === "SIGNATURE_INVALID" && /the key expired on 2020-01-02T/.test(error.message),
    );
  });
});
