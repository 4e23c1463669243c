/**
 * A store in S3-compatible object storage (AWS S3, Ceph RGW, MinIO, ...), addressed as
 * s3://bucket/prefix. Create-only writes use `If-None-Match: *`, compare-and-swap uses
 * `If-Match: <etag>`, both answered 412 by the server when someone else wrote first.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { BootstreamError } from "../errors.ts";
import { unquoteEtag } from "../net/etag.ts";
import {
  checkKey,
  contentTypeOf,
  type Leftover,
  type PutOptions,
  type ReadOptions,
  type Store,
  type StoredObject,
} from "./store.ts";

export interface S3StoreOptions {
  /** Endpoint URL of an S3-compatible server; default from AWS_ENDPOINT_URL or AWS itself. */
  endpoint?: string;
  region?: string;
}

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new BootstreamError("USAGE", `expected s3://BUCKET[/PREFIX], got ${JSON.stringify(url)}`);
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1] as string, prefix: prefix === "" ? "" : `${prefix}/` };
}

/** errno-like reason of a failed connection (ECONNREFUSED), without the SDK's stack. */
function networkReason(error: unknown): string {
  const e = error as { code?: string; name?: string; message?: string; errors?: { code?: string }[] };
  return e.code ?? e.errors?.[0]?.code ?? e.name ?? e.message ?? String(error);
}

/**
 * A failure of the store as a whole, not of one object: no HTTP answer at all (refused,
 * reset, timed out) or 503 (overloaded). serve answers 503 for these, not 502.
 */
function unreachable(status: number | undefined): boolean {
  return status === undefined || status === 503;
}

/** The SDK's per-call options for a caller's abort signal. */
function abortable(options: ReadOptions): { abortSignal?: AbortSignal } {
  return options.signal ? { abortSignal: options.signal } : {};
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export class S3Store implements Store {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  /** Conditional writes are not retried: a retried 412 loser must surface as CONFLICT. */
  private readonly conditionalClient: S3Client;

  constructor(url: string, options: S3StoreOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.location = `s3://${bucket}/${prefix}`;
    const config = {
      forcePathStyle: true, // S3-compatible servers on a plain host name need path-style URLs
      requestChecksumCalculation: "WHEN_REQUIRED" as const,
      responseChecksumValidation: "WHEN_REQUIRED" as const,
      region: options.region ?? "us-east-1",
      // A stalled endpoint must fail, not hang a publish or a request to serve forever.
      // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    };
    this.client = new S3Client(config);
    this.conditionalClient = new S3Client({ ...config, maxAttempts: 1 });
  }

  async check(options: ReadOptions = {}): Promise<void> {
    try {
      await this.conditionalClient.send(new HeadBucketCommand({ Bucket: this.bucket }), abortable(options));
    } catch (error) {
      const status = statusOf(error);
      if (status === 404)
        throw new BootstreamError("IO", `store ${this.location}: bucket ${this.bucket} does not exist`, {
          cause: error,
        });
      if (status === 401 || status === 403)
        throw new BootstreamError(
          "UNAUTHORIZED",
          `store ${this.location}: access to bucket ${this.bucket} denied (HTTP ${status})`,
          { cause: error },
        );
      const reason = status ? `HTTP ${status}` : networkReason(error);
      throw new BootstreamError(
        unreachable(status) ? "UNAVAILABLE" : "IO",
        `store ${this.location} cannot be reached: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Object storage writes whole objects: nothing is ever left behind. */
  async leftovers(): Promise<Leftover[]> {
    return [];
  }

  async clearLeftovers(): Promise<Leftover[]> {
    return [];
  }

  private key(key: string): string {
    checkKey(key);
    return this.prefix + key;
  }

  async get(key: string, options: ReadOptions = {}): Promise<StoredObject | undefined> {
    const k = this.key(key); // a bad key is USAGE, before any request
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: k }),
        abortable(options),
      );
      const body = await out.Body?.transformToByteArray();
      return { body: body ?? new Uint8Array(), etag: unquoteEtag(out.ETag) };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.ioError("read", key, error);
    }
  }

  async head(key: string, options: ReadOptions = {}): Promise<string | undefined> {
    const k = this.key(key);
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: k }),
        abortable(options),
      );
      return unquoteEtag(out.ETag);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.ioError("stat", key, error);
    }
  }

  private async put(
    key: string,
    body: Uint8Array,
    condition: { IfNoneMatch?: string; IfMatch?: string },
    options: PutOptions,
  ): Promise<string> {
    const k = this.key(key);
    try {
      const out = await this.conditionalClient.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: k,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType ?? contentTypeOf(key),
          ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
          ...condition,
        }),
      );
      return unquoteEtag(out.ETag);
    } catch (error) {
      const status = statusOf(error);
      // 409 is S3's answer to concurrent conditional writes; Ceph answers some racing losers 500 (ECANCELED).
      if (
        status === 412 ||
        status === 409 ||
        (status === 500 && (condition.IfMatch || condition.IfNoneMatch))
      ) {
        throw new BootstreamError(
          "CONFLICT",
          `${key} in ${this.location} was changed by someone else (HTTP ${status})`,
          {
            path: key,
            cause: error,
          },
        );
      }
      if (status === 404 && condition.IfMatch) {
        throw new BootstreamError("CONFLICT", `${key} in ${this.location} no longer exists`, {
          path: key,
          cause: error,
        });
      }
      throw this.ioError("write", key, error);
    }
  }

  putNew(key: string, body: Uint8Array, options: PutOptions = {}): Promise<string> {
    return this.put(key, body, { IfNoneMatch: "*" }, options);
  }

  putIfMatch(
    key: string,
    body: Uint8Array,
    ifMatch: string | null,
    options: PutOptions = {},
  ): Promise<string> {
    return this.put(key, body, ifMatch === null ? { IfNoneMatch: "*" } : { IfMatch: ifMatch }, options);
  }

  async list(prefix: string, options: ReadOptions = {}): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          abortable(options),
        );
        for (const item of out.Contents ?? []) if (item.Key) keys.push(item.Key.slice(this.prefix.length));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.ioError("list", prefix, error);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const k = this.key(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
    } catch (error) {
      throw this.ioError("delete", key, error);
    }
  }

  private ioError(what: string, key: string, cause: unknown): BootstreamError {
    const status = statusOf(cause);
    const name = cause instanceof S3ServiceException ? cause.name : (cause as Error).name;
    const reason = status ? `HTTP ${status} ${name}` : (cause as Error).message;
    const code =
      status === 403 || status === 401 ? "UNAUTHORIZED" : unreachable(status) ? "UNAVAILABLE" : "IO";
    return new BootstreamError(code, `cannot ${what} ${key} in ${this.location}: ${reason}`, {
      path: key,
      cause,
    });
  }
}
