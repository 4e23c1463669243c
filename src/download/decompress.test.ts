import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import { crc32, gzipSync } from "node:zlib";
import { BootstreamError } from "../errors.ts";
import { compressionOf, createDecompressor } from "./decompress.ts";

describe("compressionOf picks the decompressor by suffix only", () => {
  test("xz, gz and zst, with the stem as the local name", () => {
    assert.deepEqual(compressionOf("fedora-coreos-40.20240101.3.0-metal.x86_64.raw.xz"), {
      compression: "xz",
      stem: "fedora-coreos-40.20240101.3.0-metal.x86_64.raw",
    });
    assert.deepEqual(compressionOf("disk.qcow2.gz"), { compression: "gzip", stem: "disk.qcow2" });
    assert.deepEqual(compressionOf("rhcos.raw.zst"), { compression: "zstd", stem: "rhcos.raw" });
  });

  test("tarballs stay whole, other suffixes and look-alikes are not decompressed", () => {
    for (const name of [
      "gcp.tar.gz",
      "x.tar.xz",
      "x.tar.zst",
      "initramfs.img",
      "disk.iso",
      "disk.qcow2",
      "x.xz.sig",
      "x.XZ",
      "x.gzip",
      "x.zstd",
      "xz",
    ]) {
      assert.equal(compressionOf(name), undefined, name);
    }
  });

  test("only the last suffix counts", () => {
    assert.deepEqual(compressionOf("a.gz.xz"), { compression: "xz", stem: "a.gz" });
  });
});

async function run(compression: "xz" | "gzip" | "zstd", input: Uint8Array): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from(input)]),
    await createDecompressor(compression, { builtinOnly: true }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    },
  );
  return Buffer.concat(out);
}

/** A zstd frame holding `data` as one raw (stored) block: single segment, 1-byte content size. */
function zstdRaw(data: Buffer): Buffer {
  assert.ok(data.length < 256);
  const block = (data.length << 3) | 1; // last block, type raw
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, data.length]),
    Buffer.from([block & 0xff, (block >> 8) & 0xff, (block >> 16) & 0xff]),
    data,
  ]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

/** An .xz stream (CRC32 check) of one block holding `data` as an uncompressed LZMA2 chunk. */
function xzStored(data: Buffer): Buffer {
  assert.ok(data.length > 0 && data.length < 128);
  const flags = Buffer.from([0x00, 0x01]);
  const header = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), flags, u32(crc32(flags))]);
  const blockHeaderBody = pad4(Buffer.from([0x02, 0x00, 0x21, 0x01, 0x00]));
  const blockHeader = Buffer.concat([blockHeaderBody, u32(crc32(blockHeaderBody))]);
  const lzma2 = Buffer.concat([
    Buffer.from([0x01, (data.length - 1) >> 8, (data.length - 1) & 0xff]),
    data,
    Buffer.from([0x00]),
  ]);
  const check = u32(crc32(data));
  const block = Buffer.concat([blockHeader, pad4(lzma2), check]);
  const unpadded = blockHeader.length + lzma2.length + check.length;
  const indexBody = pad4(Buffer.from([0x00, 0x01, unpadded, data.length]));
  const index = Buffer.concat([indexBody, u32(crc32(indexBody))]);
  const backward = u32(index.length / 4 - 1);
  const footerBody = Buffer.concat([backward, flags]);
  const footer = Buffer.concat([u32(crc32(footerBody)), footerBody, Buffer.from([0x59, 0x5a])]);
  return Buffer.concat([header, block, index, footer]);
}

describe("createDecompressor (built-in decoders, in memory)", () => {
  const data = Buffer.from("the boot image bytes\n".repeat(4));

  test("gzip", async () => {
    assert.deepEqual(await run("gzip", gzipSync(data)), data);
  });

  test("zstd", async () => {
    assert.deepEqual(await run("zstd", zstdRaw(data)), data);
  });

  test("zstd: a truncated frame is CHECKSUM_MISMATCH (corrupt data)", async () => {
    const frame = zstdRaw(data);
    await assert.rejects(run("zstd", frame.subarray(0, frame.length - 5)), (e: unknown) => {
      assert.ok(e instanceof BootstreamError, String(e));
      assert.equal(e.code, "CHECKSUM_MISMATCH");
      return true;
    });
  });

  test("xz", async () => {
    assert.deepEqual(await run("xz", xzStored(data)), data);
  });

  test("xz: a flipped data byte fails the check", async () => {
    const stream = xzStored(data);
    stream[40] = (stream[40] ?? 0) ^ 0xff;
    await assert.rejects(run("xz", stream));
  });

  test("gzip: corrupt input fails", async () => {
    const gz = gzipSync(data);
    await assert.rejects(run("gzip", gz.subarray(0, gz.length - 4)));
  });
});
