import { S3Store } from "../src/storage/s3.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";
import { storeContract } from "./helpers/store-contract.ts";

let url: string | undefined;
storeContract("S3 (Ceph RGW on 127.0.0.1)", async () => {
  url ??= await freshBucket();
  return new S3Store(url, { endpoint: s3Endpoint() });
});
