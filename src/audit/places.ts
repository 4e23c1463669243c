/**
 * Where an audit reads a published stream from: the files of the store layout (pointer,
 * history, pinned copies and their `.asc`) beside a pointer given as a URL or a path (a
 * mirror, a static bucket), or straight from a store (a directory or S3).
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BootstreamError } from "../errors.ts";
import { checkStreamName, pointerKey } from "../publish/layout.ts";
import { isStreamName } from "../schema/names.ts";
import { classifySource, fetchDocument, type ReadSourceOptions, readFileCapped } from "../source/read.ts";
import type { Store } from "../storage/store.ts";
import { isUpstreamCopyName } from "../trust/mirror-rewrite.ts";

/** The files of one published stream, named by their store keys (`streams/stable/history.json`). */
export interface PublishedStream {
  name: string;
  /** How reports name it: the pointer's URL or path, or the store and the pointer's key. */
  source: string;
  /** What the audit state is kept under: the pointer's location as a URL. */
  identity: string;
  /** Where a file of the layout is, for messages (a URL, a path, or store and key). */
  where(key: string): string;
  /** A file's bytes; undefined when it does not exist; TOO_LARGE above `maxBytes`. */
  read(key: string, maxBytes: number): Promise<Uint8Array | undefined>;
}

const POINTER_FILE = /^([^/]+)\.json$/;

/**
 * The published stream whose pointer is SOURCE (`https://mirror/streams/stable.json`,
 * `/srv/store/streams/stable.json`): history and pinned copies are looked up beside it.
 */
export async function publishedAt(
  source: string,
  options: Pick<ReadSourceOptions, "deadlines" | "signal"> = {},
): Promise<PublishedStream> {
  const kind = classifySource(source);
  if (kind === "stdin")
    throw new BootstreamError(
      "USAGE",
      "audit reads the files beside the pointer: give its URL or path, not standard input",
    );
  if (kind === "url") {
    let url: URL;
    try {
      url = new URL(source);
    } catch (cause) {
      throw new BootstreamError("USAGE", `${source} is not a URL`, { cause });
    }
    const name = streamNameOf(url.pathname.split("/").pop() ?? "", source);
    // Siblings resolve against the URL given, not where it redirects (a pinned copy, say).
    const at = (key: string) => new URL(relativeToStreams(key), url).href;
    return {
      name,
      source: url.href,
      identity: url.href,
      where: at,
      async read(key, maxBytes) {
        try {
          return (await fetchDocument(at(key), maxBytes, options.signal, options.deadlines)).body;
        } catch (error) {
          if (error instanceof BootstreamError && error.code === "NOT_FOUND") return undefined;
          throw error;
        }
      },
    };
  }
  const name = streamNameOf(basename(source), source);
  const dir = dirname(source);
  const at = (key: string) => join(dir, relativeToStreams(key));
  const real = await realpath(source).catch(() => resolve(source));
  return {
    name,
    source,
    identity: pathToFileURL(real).href,
    where: at,
    read: (key, maxBytes) => readLocal(at(key), maxBytes),
  };
}

/**
 * The streams of a store to audit: those named, or every stream that has a pointer or a
 * history. USAGE for a named stream the store does not hold; IO when it holds none at all
 * (a wrong prefix audits nothing, which must not pass as clean).
 */
export async function publishedInStore(
  store: Store,
  names: readonly string[] = [],
): Promise<PublishedStream[]> {
  await store.check();
  const keys = new Set(await store.list("streams/"));
  const present = new Set<string>();
  for (const key of keys) {
    const m = /^streams\/([^/]+?)(?:\.json|\/history\.json)$/.exec(key);
    const name = m?.[1];
    // A mirror's kept upstream copy (`stable.upstream.json`) is not a stream of its own.
    if (name !== undefined && isStreamName(name) && !isUpstreamCopyName(name)) present.add(name);
  }
  for (const name of names) {
    checkStreamName(name);
    if (!present.has(name))
      throw new BootstreamError(
        "USAGE",
        `${store.location} holds no stream ${name} (no ${pointerKey(name)}); it holds: ${[...present].sort().join(", ") || "none"}`,
      );
  }
  const chosen = names.length > 0 ? [...new Set(names)] : [...present].sort();
  if (chosen.length === 0)
    throw new BootstreamError(
      "IO",
      `${store.location} holds no published stream (no streams/<name>.json): nothing to audit`,
      { path: store.location },
    );
  const s3 = store.location.startsWith("s3://");
  const where = (key: string) =>
    s3 ? `${store.location.replace(/\/+$/, "")}/${key}` : join(store.location, key);
  const base = s3
    ? store.location.replace(/\/+$/, "")
    : pathToFileURL(await realpath(store.location).catch(() => resolve(store.location))).href;
  return chosen.map((name) => ({
    name,
    source: where(pointerKey(name)),
    identity: `${base}/${pointerKey(name)}`,
    where,
    async read(key, maxBytes) {
      const object = await store.get(key);
      if (object !== undefined && object.body.byteLength > maxBytes)
        throw new BootstreamError("TOO_LARGE", `${where(key)} is larger than the ${maxBytes} bytes allowed`, {
          path: key,
        });
      return object?.body;
    },
  }));
}

function streamNameOf(file: string, source: string): string {
  const name = POINTER_FILE.exec(file)?.[1];
  if (name === undefined || !isStreamName(name))
    throw new BootstreamError(
      "USAGE",
      `${source} is not a stream pointer of a published store (expected .../streams/<name>.json)`,
    );
  return name;
}

/** `stable/history.json` of `streams/stable/history.json`: where a key is beside the pointer. */
function relativeToStreams(key: string): string {
  return key.replace(/^streams\//, "");
}

async function readLocal(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  try {
    return await readFileCapped(path, maxBytes);
  } catch (error) {
    if (error instanceof BootstreamError && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
}
