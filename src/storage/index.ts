/** Opens a store from its command-line form: a directory path or s3://bucket/prefix. */
import { FsStore } from "./fs.ts";
import { S3Store, type S3StoreOptions } from "./s3.ts";
import type { Store } from "./store.ts";

export function openStore(location: string, options: S3StoreOptions = {}): Store {
  return location.startsWith("s3://") ? new S3Store(location, options) : new FsStore(location);
}

export { FsStore, sha256Hex } from "./fs.ts";
export { S3Store, type S3StoreOptions } from "./s3.ts";
export type { PutOptions, Store, StoredObject } from "./store.ts";
