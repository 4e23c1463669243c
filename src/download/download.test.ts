/**
 * The parts of downloadArtifact that run before any byte is fetched: name confinement, the
 * signature preconditions and the already-verified skip. Nothing here opens a connection: the
 * URLs point at 127.0.0.1 port 9, and every case returns or throws before a request.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateKey, readKey } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { downloadArtifact } from "./download.ts";

const URL_BASE = "http://127.0.0.1:9/builds/40.1/x86_64";
const POINTER = "/architectures/x86_64/artifacts/metal/formats/raw.xz/disk/location";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "bootstream-download-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

function rejectsWith(code: string, path?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof BootstreamError, String(e));
    assert.equal(e.code, code);
    if (path !== undefined) assert.equal(e.path, path);
    return true;
  };
}

describe("names are confined before anything is touched", () => {
  test("a --output name with a separator is USAGE; nothing is created", async () => {
    const target = join(dir, "confined");
    for (const fileName of ["../escape.img", "a/b.img", "..", ".", ""]) {
      await assert.rejects(
        downloadArtifact({ url: `${URL_BASE}/disk.img` }, { directory: target, fileName, insecure: true }),
        rejectsWith("USAGE"),
        fileName,
      );
    }
    assert.deepEqual(await readdir(dir).then((names) => names.includes("confined")), false);
  });

  test("a stream URL that names no file is INVALID_DOCUMENT at its pointer", async () => {
    await assert.rejects(
      downloadArtifact(
        { url: "http://127.0.0.1:9/dir/", pointer: POINTER },
        { directory: dir, insecure: true },
      ),
      rejectsWith("INVALID_DOCUMENT", POINTER),
    );
    await assert.rejects(
      downloadArtifact({ url: "file:///etc/passwd", pointer: POINTER }, { directory: dir, insecure: true }),
      rejectsWith("INVALID_DOCUMENT", POINTER),
    );
  });
});

describe("signature preconditions", () => {
  test("no key and not --insecure is USAGE", async () => {
    await assert.rejects(
      downloadArtifact(
        { url: `${URL_BASE}/disk.img`, signatureUrl: `${URL_BASE}/disk.img.sig` },
        { directory: dir },
      ),
      rejectsWith("USAGE"),
    );
    await assert.rejects(
      downloadArtifact({ url: `${URL_BASE}/disk.img` }, { directory: dir, keys: [] }),
      rejectsWith("USAGE"),
    );
  });

  test("a key but no signature URL is SIGNATURE_INVALID", async () => {
    const { publicKey } = await generateKey({
      type: "curve25519",
      userIDs: [{ name: "test" }],
      format: "armored",
    });
    const key = await readKey({ armoredKey: publicKey });
    await assert.rejects(
      downloadArtifact({ url: `${URL_BASE}/disk.img` }, { directory: dir, keys: [key] }),
      rejectsWith("SIGNATURE_INVALID"),
    );
  });
});

describe("a complete file that verifies is not fetched again", () => {
  test("plain: checked against sha256", async () => {
    await writeFile(join(dir, "done.img"), "image");
    const result = await downloadArtifact(
      { url: `${URL_BASE}/done.img`, sha256: sha("image") },
      { directory: dir, insecure: true },
    );
    assert.deepEqual(result, {
      path: join(dir, "done.img"),
      bytes: 0,
      sha256: sha("image"),
      verified: ["sha256"],
      skipped: true,
    });
  });

  test("decompressing: the stem is checked against uncompressed-sha256", async () => {
    await writeFile(join(dir, "metal.raw"), "raw image");
    const result = await downloadArtifact(
      { url: `${URL_BASE}/metal.raw.xz`, sha256: sha("compressed"), uncompressedSha256: sha("raw image") },
      { directory: dir, insecure: true, decompress: true },
    );
    assert.equal(result.skipped, true);
    assert.equal(result.path, join(dir, "metal.raw"));
    assert.deepEqual(result.verified, ["uncompressed-sha256"]);
  });

  test("--output names the local file (the stem rule applies to it)", async () => {
    await writeFile(join(dir, "named"), "n");
    const result = await downloadArtifact(
      { url: `${URL_BASE}/whatever.img`, sha256: sha("n") },
      { directory: dir, insecure: true, fileName: "named" },
    );
    assert.equal(result.path, join(dir, "named"));
    assert.equal(result.skipped, true);
  });
});

describe("tap", () => {
  test("hashes and counts every byte that flows by, and feeds the signature check the same bytes", async () => {
    const { Readable, Writable } = await import("node:stream");
    const { pipeline } = await import("node:stream/promises");
    const openpgp = await import("openpgp");
    const { createStreamVerifier } = await import("../signature/index.ts");
    const { tap } = await import("./download.ts");
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const key = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "t" }],
    });
    const signature = await openpgp.sign({
      message: await openpgp.createMessage({ binary: body }),
      signingKeys: await openpgp.readPrivateKey({ armoredKey: key.privateKey }),
      detached: true,
      format: "binary",
    });
    const verifier = await createStreamVerifier(
      signature as Uint8Array,
      await openpgp.readKeys({ armoredKeys: key.publicKey }),
    );
    const hash = createHash("sha256");
    let counted = 0;
    let received = 0;
    const chunks = Array.from({ length: 49 }, (_, i) => body.subarray(i * 65_536, (i + 1) * 65_536));
    await pipeline(
      Readable.from(chunks),
      tap(
        hash,
        (n) => {
          counted += n;
        },
        verifier,
      ),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          callback();
        },
      }),
    );
    verifier.input.end();
    assert.equal(counted, body.length);
    assert.equal(received, body.length);
    assert.equal(hash.digest("hex"), createHash("sha256").update(body).digest("hex"));
    assert.match((await verifier.signer).fingerprint, /^[0-9A-F]{40}$/);
  });
});
