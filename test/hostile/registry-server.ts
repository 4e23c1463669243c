/**
 * The hostile side of OCI for the attack tests: a registry on 127.0.0.1 that serves what a
 * test stores honestly and lets the test take over any request (to stall, send endless
 * bodies, redirect, challenge, lie about types and sizes), a TCP server that accepts and
 * never answers, and builders for hostile tar layers and image layouts. Only ever listens on
 * 127.0.0.1.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const sha256 = (bytes: Uint8Array): string =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

export const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** Takes over a request when it returns true; the honest registry answers otherwise. */
export type Override = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface Peer {
  host: string;
  url: string;
  requests: Seen[];
  close(): Promise<void>;
}

export interface HostileRegistry extends Peer {
  blobs: Map<string, Buffer>;
  /** `repo:tag` and `repo@digest` -> manifest. */
  manifests: Map<string, { bytes: Buffer; type: string }>;
  override: Override | undefined;
}

/** Keeps sockets so close() never waits on a stalled client, and answers from 127.0.0.1 only. */
function track(server: Server | ReturnType<typeof createNetServer>, scheme: string): Promise<Peer> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const requests: Seen[] = [];
  server.on("request", (req: IncomingMessage) =>
    requests.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization }),
  );
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        host,
        url: `${scheme}://${host}`,
        requests,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}

/** An HTTP(S) server whose handler is the test's; for realms and storage hosts. */
export function startPeer(handler: RequestListener, tls?: { key: string; cert: string }): Promise<Peer> {
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  return track(server, tls ? "https" : "http");
}

/** Accepts TCP connections and never says a word. */
export function startSilentServer(): Promise<Peer> {
  return track(
    createNetServer(() => {}),
    "http",
  );
}

/** Sends `chunk` forever (chunked, no Content-Length) until `limit` bytes, the test's own safety net. */
export function endless(res: ServerResponse, contentType: string, limit = 256 * 1024 * 1024): void {
  res.writeHead(200, { "content-type": contentType });
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let sent = 0;
  const pump = () => {
    while (sent < limit) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  res.on("close", () => res.removeAllListeners("drain"));
  pump();
}

export function startRegistry(tls?: { key: string; cert: string }): Promise<HostileRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { bytes: Buffer; type: string }>();
  const uploads = new Map<string, Buffer[]>();

  const honest = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    if (url.pathname === "/v2/") return void res.writeHead(200).end("{}");
    let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const key = (m[2] as string).startsWith("sha256:") ? `${m[1]}@${m[2]}` : `${m[1]}:${m[2]}`;
      if (method === "PUT") {
        const digest = sha256(body);
        const type = req.headers["content-type"] ?? MEDIA.manifest;
        manifests.set(key, { bytes: body, type });
        manifests.set(`${m[1]}@${digest}`, { bytes: body, type });
        return void res.writeHead(201, { "docker-content-digest": digest }).end();
      }
      const found = manifests.get(key);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      res.writeHead(200, {
        "content-type": found.type,
        "content-length": String(found.bytes.length),
        "docker-content-digest": sha256(found.bytes),
      });
      return void res.end(method === "HEAD" ? undefined : found.bytes);
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      const found = blobs.get(m[2] as string);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(found.length),
      });
      return void res.end(method === "HEAD" ? undefined : found);
    }
    m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    if (m) {
      if (method === "POST") {
        const id = randomUUID();
        uploads.set(id, []);
        return void res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${id}` }).end();
      }
      const parts = uploads.get(m[2] as string);
      if (!parts) return void res.writeHead(404).end();
      parts.push(body);
      if (method === "PATCH")
        return void res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${m[2]}` }).end();
      const bytes = Buffer.concat(parts);
      const digest = url.searchParams.get("digest") ?? "";
      if (sha256(bytes) !== digest)
        return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
      blobs.set(digest, bytes);
      return void res.writeHead(201, { "docker-content-digest": digest }).end();
    }
    res.writeHead(404).end();
  };

  const registry = { blobs, manifests, override: undefined as Override | undefined };
  const handler: RequestListener = (req, res) => {
    if (registry.override?.(req, res)) return;
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => honest(req, res, Buffer.concat(parts)));
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  return track(server, tls ? "https" : "http").then((peer) => Object.assign(registry, peer));
}

// ---------------------------------------------------------------------------------------------
// Images: a manifest over arbitrary config and layer bytes, in a registry or a layout.

export interface ImageParts {
  layer: Buffer;
  layerType?: string;
  config?: Buffer;
  /** Change the manifest object before it is serialised (drop fields, lie about sizes). */
  edit?: (manifest: Record<string, unknown>) => void;
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  blobs: Map<string, Buffer>;
}

export const STREAM_ANNOTATIONS = (name: string): Record<string, string> => ({
  "io.coreos.bootstream.stream": name,
  "io.coreos.bootstream.last-modified": "2026-07-07T00:00:00Z",
  "io.coreos.bootstream.releases": '{"x86_64":"44.20260707.3.1"}',
  "io.coreos.bootstream.path": `/usr/share/bootstream/${name}.json`,
});

export function buildImage(parts: ImageParts): BuiltImage {
  const config = parts.config ?? Buffer.from('{"architecture":"amd64","os":"linux"}');
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: sha256(config), size: config.length },
    layers: [
      { mediaType: parts.layerType ?? MEDIA.layer, digest: sha256(parts.layer), size: parts.layer.length },
    ],
    annotations: parts.annotations ?? STREAM_ANNOTATIONS("stable"),
  };
  parts.edit?.(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest: bytes,
    manifestDigest: sha256(bytes),
    blobs: new Map([
      [sha256(config), config],
      [sha256(parts.layer), parts.layer],
    ]),
  };
}

/** Stores `image` in the registry under `repo:tag` (and by digest); returns the reference. */
export function serveImage(registry: HostileRegistry, repo: string, tag: string, image: BuiltImage): string {
  for (const [digest, bytes] of image.blobs) registry.blobs.set(digest, bytes);
  const entry = { bytes: image.manifest, type: MEDIA.manifest };
  registry.manifests.set(`${repo}:${tag}`, entry);
  registry.manifests.set(`${repo}@${image.manifestDigest}`, entry);
  return `${registry.host}/${repo}:${tag}`;
}

/** Writes `image` as an OCI layout at `dir` tagged `tag`; `index` replaces the index.json text. */
export function writeImageLayout(dir: string, image: BuiltImage, tag = "x", index?: string): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const blobs = new Map(image.blobs).set(image.manifestDigest, image.manifest);
  for (const [digest, bytes] of blobs) writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  writeFileSync(
    join(dir, "index.json"),
    index ??
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MEDIA.manifest,
            digest: image.manifestDigest,
            size: image.manifest.length,
            annotations: { "org.opencontainers.image.ref.name": tag },
          },
        ],
      }),
  );
}

// ---------------------------------------------------------------------------------------------
// Tar layers with whatever entries an attacker likes.

export interface HostileEntry {
  name: string;
  body?: string | Buffer;
  /** ustar type flag: "0" file, "1" hard link, "2" symlink, "5" directory, "x" pax, "L" GNU long name. */
  type?: string;
  linkname?: string;
  /** Raw size field (e.g. base-256 or garbage) instead of the real size in octal. */
  sizeField?: Buffer;
  badChecksum?: boolean;
}

function header(entry: HostileEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  h.write(entry.name, 0, 100, "utf8");
  h.write("0000644\0", 100, "ascii");
  h.write("0000000\0", 108, "ascii");
  h.write("0000000\0", 116, "ascii");
  if (entry.sizeField) entry.sizeField.copy(h, 124, 0, 12);
  else h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "ascii");
  h.write("00000000000\0", 136, "ascii");
  h.fill(0x20, 148, 156);
  h.write(entry.type ?? "0", 156, "ascii");
  if (entry.linkname) h.write(entry.linkname, 157, 100, "utf8");
  h.write("ustar\u000000", 257, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  if (entry.badChecksum) sum += 1;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A pax extended header body: `<len> key=value\n` records. */
export function pax(records: Record<string, string>): string {
  let out = "";
  for (const [key, value] of Object.entries(records)) {
    const text = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(text) + 1;
    while (String(len).length + Buffer.byteLength(text) !== len)
      len = String(len).length + Buffer.byteLength(text);
    out += `${len}${text}`;
  }
  return out;
}

export function hostileTar(entries: readonly HostileEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    parts.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const gzipLayer = (entries: readonly HostileEntry[]): Buffer => gzipSync(hostileTar(entries));
