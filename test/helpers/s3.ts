/**
 * The real S3 server for tests (Ceph RGW started by scripts/s3-up.sh, see run-tests.mjs).
 * Tests that need it fail, never skip, when it cannot be reached.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

export function s3Endpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  assert.ok(
    endpoint,
    "AWS_ENDPOINT_URL is not set: start the S3 server with scripts/s3-up.sh (npm test does it)",
  );
  // Without a loopback endpoint the SDK would talk to real AWS.
  assert.match(
    endpoint,
    /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/?$/,
    "AWS_ENDPOINT_URL must be a loopback URL",
  );
  return endpoint;
}

/** Creates a fresh bucket and returns its s3:// URL with a prefix. */
export async function freshBucket(prefix = "streams-root"): Promise<string> {
  const endpoint = s3Endpoint();
  const bucket = `bootstream-test-${Date.now()}-${randomBytes(3).toString("hex")}`;
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return `s3://${bucket}/${prefix}`;
}
