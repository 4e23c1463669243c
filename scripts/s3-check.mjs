// What the S3 of s3-up.sh (Ceph RGW 16.2.15) does, checked with @aws-sdk/client-s3 (3.1175.0 used).
// Usage: eval "$(shared/scripts/s3-up.sh)"; cp shared/scripts/s3-check.mjs DIR/; node DIR/s3-check.mjs
// (DIR: a folder with @aws-sdk/client-s3 in its node_modules; ESM resolves imports from the file's folder up)
// Each line: PASS/FAIL against what this Ceph does; "AWS:" notes where real S3 differs.

import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";

// endpoint, region, keys and checksum mode come from the env that s3-up.sh prints
const s3 = new S3Client({ forcePathStyle: true });
const Bucket = `check-${Date.now()}`;
let failed = 0,
  total = 0;
async function expect(name, want, fn) {
  // want: 'ok' or an HTTP status
  let got;
  try {
    await fn();
    got = "ok";
  } catch (e) {
    got = e.$metadata?.httpStatusCode ?? `${e.name}: ${e.message}`;
  }
  const pass = got === want;
  total++;
  if (!pass) failed++;
  console.log(`${pass ? "PASS" : "FAIL"}  ${name}: ${got}${pass ? "" : ` (expected ${want})`}`);
}
const put = (Key, Body, extra = {}) => s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }));
const etagOf = async (Key) => (await s3.send(new HeadObjectCommand({ Bucket, Key }))).ETag; // quoted: "abc..."
const unquote = (etag) => etag.replace(/"/g, "");

await expect("CreateBucket", "ok", () => s3.send(new CreateBucketCommand({ Bucket })));
await expect("PutObject", "ok", () => put("k", "v1"));
await expect("GetObject", "ok", async () => {
  const body = await (await s3.send(new GetObjectCommand({ Bucket, Key: "k" }))).Body.transformToString();
  if (body !== "v1") throw new Error(body);
});
await expect("ListObjectsV2", "ok", async () => {
  const r = await s3.send(new ListObjectsV2Command({ Bucket }));
  if (r.KeyCount !== 1) throw new Error(`KeyCount ${r.KeyCount}`);
});
await expect("PutObject If-None-Match:* on existing key", 412, () => put("k", "x", { IfNoneMatch: "*" }));
await expect("PutObject If-None-Match:* on new key", "ok", () => put("new", "x", { IfNoneMatch: "*" }));
const e1 = await etagOf("k");
await expect("PutObject If-Match current ETag, quoted as S3 returns it (AWS: ok)", 412, () =>
  put("k", "v2", { IfMatch: e1 }),
);
await expect("PutObject If-Match current ETag, unquoted", "ok", () =>
  put("k", "v2", { IfMatch: unquote(e1) }),
);
await expect("PutObject If-Match stale ETag", 412, () => put("k", "v3", { IfMatch: unquote(e1) }));
await expect("PutObject If-Match on missing key (AWS: 404)", 412, () =>
  put("missing", "x", { IfMatch: unquote(e1) }),
);
const e2 = await etagOf("k");
await expect("GetObject If-None-Match current ETag", 304, () =>
  s3.send(new GetObjectCommand({ Bucket, Key: "k", IfNoneMatch: e2 })),
);
await expect("GetObject If-Match stale ETag", 412, () =>
  s3.send(new GetObjectCommand({ Bucket, Key: "k", IfMatch: e1 })),
);
await expect("PutObject stream body with ContentLength", "ok", () =>
  put("s", Readable.from([Buffer.from("hello")]), { ContentLength: 5 }),
);
await expect("PutObject stream body, no length (AWS: also fails; use lib-storage Upload)", 411, () =>
  put("s2", Readable.from([Buffer.from("hello")])),
);
const mpu = async (Key, parts, extra = {}) => {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const done = [];
  for (const [i, Body] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done }, ...extra }),
  );
};
await expect("Multipart upload 5 MiB + 1 KiB", "ok", () =>
  mpu("big", [Buffer.alloc(5 << 20, 1), Buffer.alloc(1024, 2)]),
);
await expect("CompleteMultipartUpload If-None-Match:* on existing key is ignored (AWS: 412)", "ok", () =>
  mpu("big", ["tiny"], { IfNoneMatch: "*" }),
);
await expect("GetObject missing key", 404, () => s3.send(new GetObjectCommand({ Bucket, Key: "nope" })));
console.log(`${total - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
