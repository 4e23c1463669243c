/** Opens a store from its command-line form: a directory path or s3://bucket/prefix. */
import { FsStore } from "./fs.ts";
import type { S3StoreOptions } from "./s3.ts";
import type { Store } from "./store.ts";

/** The S3 client (the AWS SDK) is loaded only when an s3:// store is used. */
export async function openStore(location: string, options: S3StoreOptions = {}): Promise<Store> {
  if (!location.startsWith("s3://")) return new FsStore(location);
  const { S3Store } = await import("./s3.ts");
  return new S3Store(location, options);
}

export { FsStore } from "./fs.ts";
export type { S3StoreOptions } from "./s3.ts";
export type { PutOptions, Store, StoredObject } from "./store.ts";
