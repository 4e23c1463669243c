/**
 * A client for the OCI distribution API, just what carrying a stream needs: blob upload
 * (monolithic, or chunked with PATCH), manifest PUT and GET, blob GET, each checked
 * against its digest and size; bearer-token (WWW-Authenticate: Bearer realm=...) and basic
 * auth. Written on net/http.ts: the registry libraries on npm are either abandoned or pull
 * in a container runtime's worth of features for these five requests.
 *
 * The registry may be hostile. Every request has a connect and idle deadline and a body
 * cap that holds without a Content-Length; redirects are followed by hand, only to http(s)
 * (https only unless --tls-verify=false), and credentials go to the registry's own origin
 * and to an https token realm, never anywhere else.
 */
import { BootstreamError } from "../errors.ts";
import { sha256Digest } from "../files/hash.ts";
import { type Deadlines, type HttpReply, httpRequest } from "../net/http.ts";
import {
  type Descriptor,
  MAX_ERROR_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_TOKEN_BYTES,
  parseOciJson,
  shown,
  tokenAnswerSchema,
} from "./documents.ts";
import { type Blob, MEDIA_TYPES } from "./image.ts";

export interface ImageReference {
  registry: string;
  repository: string;
  /** A tag, or a digest (sha256:...). */
  reference: string;
}

const MANIFEST_ACCEPT = [MEDIA_TYPES.manifest, MEDIA_TYPES.index, MEDIA_TYPES.dockerManifest].join(", ");

/** Parses `registry/repo[:tag|@digest]` (docker:// prefix allowed). */
export function parseReference(ref: string): ImageReference {
  const text = ref.replace(/^docker:\/\//, "");
  const at = text.indexOf("@");
  let name = at === -1 ? text : text.slice(0, at);
  let reference = at === -1 ? "" : text.slice(at + 1);
  if (at === -1) {
    const colon = name.lastIndexOf(":");
    if (colon > name.lastIndexOf("/")) {
      reference = name.slice(colon + 1);
      name = name.slice(0, colon);
    }
  }
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  const registry = hasRegistry ? first : "registry-1.docker.io";
  if (
    !/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/.test(
      registry,
    )
  ) {
    throw new BootstreamError("USAGE", `invalid image reference ${JSON.stringify(ref)}: bad registry host`);
  }
  let repository = hasRegistry ? name.slice(slash + 1) : name;
  if (!hasRegistry && !repository.includes("/")) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new BootstreamError("USAGE", `invalid image reference ${JSON.stringify(ref)}: bad repository name`);
  }
  if (reference === "") reference = "latest";
  if (!/^(sha256:[0-9a-f]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.test(reference)) {
    throw new BootstreamError("USAGE", `invalid image reference ${JSON.stringify(ref)}: bad tag or digest`);
  }
  return { registry, repository, reference };
}

export interface RegistryOptions extends Deadlines {
  /** Plain HTTP and no certificate checks (`--tls-verify=false`), for local registries. */
  insecure?: boolean;
  username?: string;
  password?: string;
  /** Upload blobs larger than this in PATCH chunks of this size (0: monolithic). */
  chunkSize?: number;
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[(m[1] as string).toLowerCase()] = m[2] as string;
  return { scheme, params };
}

/** A peer's text for a one-line message: control characters and runs of space become one space. */
function oneLine(text: string, max = 300): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
      .replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, " ")
      .trim()
      .slice(0, max)
  );
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Registries redirect a blob once, to storage; a few more hops are tolerated, not a loop. */
const MAX_REDIRECTS = 5;

interface SendOptions {
  headers?: Record<string, string>;
  body?: Uint8Array;
  maxBytes: number;
}

export class RegistryClient {
  private readonly origin: string;
  private authorization: string | undefined;

  constructor(
    readonly registry: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.origin = new URL(`${options.insecure ? "http" : "https"}://${registry}`).origin;
  }

  private deadlines(): Deadlines {
    const { connectTimeoutMs, idleTimeoutMs, totalTimeoutMs } = this.options;
    return {
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
      ...(totalTimeoutMs === undefined ? {} : { totalTimeoutMs }),
    };
  }

  private basic(): string | undefined {
    if (this.options.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ""}`).toString("base64")}`;
  }

  /** http(s) only, and https unless the user allowed plain http: no downgrade by redirect or realm. */
  private allowedScheme(url: URL): boolean {
    return url.protocol === "https:" || (url.protocol === "http:" && this.options.insecure === true);
  }

  /** Answers an auth challenge: basic credentials, or a bearer token from the realm. */
  private async authenticate(challenge: string, what: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    if (scheme === "basic") {
      const basic = this.basic();
      if (basic === undefined)
        throw new BootstreamError(
          "UNAUTHORIZED",
          `${this.registry} needs credentials for ${what} (--creds USER:PASSWORD)`,
        );
      this.authorization = basic;
      return;
    }
    if (scheme !== "bearer" || !params.realm)
      throw new BootstreamError(
        "UNAUTHORIZED",
        `${this.registry}: unsupported auth challenge ${shown(oneLine(challenge))}`,
      );
    let url: URL;
    try {
      url = new URL(params.realm);
    } catch {
      throw new BootstreamError(
        "UNAUTHORIZED",
        `${this.registry}: token realm ${shown(params.realm)} is not a URL`,
      );
    }
    // The realm may be another host (auth.docker.io for docker.io); that is normal. What is
    // not: a realm over plain http (or another scheme) while the registry is https, which
    // would send the credentials, or fetch the token, in clear.
    if (!this.allowedScheme(url))
      throw new BootstreamError(
        "UNAUTHORIZED",
        `${this.registry}: refusing token realm ${shown(url.href)}: not https${this.options.insecure ? " or http" : " (--tls-verify=false allows plain http)"}`,
      );
    if (params.service) url.searchParams.set("service", params.service);
    if (params.scope) url.searchParams.set("scope", params.scope);
    const basic = this.basic();
    const reply = await httpRequest(url, {
      headers: basic ? { authorization: basic } : {},
      maxBytes: MAX_TOKEN_BYTES,
      // A realm that redirects would take the credentials along; it gets no such chance.
      redirect: "manual",
      ...this.deadlines(),
    });
    if (reply.status !== 200)
      throw new BootstreamError(
        "UNAUTHORIZED",
        `${this.registry}: token request for ${what} refused (HTTP ${reply.status})`,
      );
    const body = parseOciJson(reply.body, tokenAnswerSchema, `the token from ${url.host}`);
    const token = body.token ?? body.access_token;
    if (!token)
      throw new BootstreamError("UNAUTHORIZED", `${this.registry}: the token service returned no token`);
    this.authorization = `Bearer ${token}`;
  }

  /**
   * One request to the registry: answers one auth challenge, and (GET/HEAD) follows up to
   * MAX_REDIRECTS redirects by hand, sending credentials only to the registry's own origin.
   */
  private async send(method: string, pathOrUrl: string, init: SendOptions, what: string): Promise<HttpReply> {
    let url = new URL(pathOrUrl, `${this.origin}/`);
    let challenged = false;
    for (let hop = 0; ; ) {
      const own = url.origin === this.origin;
      const reply = await httpRequest(url, {
        method,
        headers: {
          ...init.headers,
          ...(own && this.authorization ? { authorization: this.authorization } : {}),
        },
        ...(init.body ? { body: init.body } : {}),
        maxBytes: init.maxBytes,
        redirect: "manual",
        ...this.deadlines(),
      });
      if (reply.status === 401 && own) {
        const challenge = reply.headers.get("www-authenticate");
        if (challenge && !challenged) {
          challenged = true;
          await this.authenticate(challenge, what);
          continue;
        }
        if (challenged)
          throw new BootstreamError("UNAUTHORIZED", `${this.registry} refused the credentials for ${what}`);
      }
      const location = reply.headers.get("location");
      if (REDIRECTS.has(reply.status) && location !== null && (method === "GET" || method === "HEAD")) {
        if (++hop > MAX_REDIRECTS)
          throw new BootstreamError(
            "IO",
            `${this.registry}: more than ${MAX_REDIRECTS} redirects for ${what}`,
          );
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new BootstreamError("IO", `${this.registry}: bad redirect ${shown(location)} for ${what}`);
        }
        if (!this.allowedScheme(next))
          throw new BootstreamError(
            "IO",
            `${this.registry}: refusing a redirect to ${shown(next.href)} for ${what}: not ${this.options.insecure ? "http(s)" : "https"}`,
          );
        url = next;
        continue;
      }
      return reply;
    }
  }

  /** An upload URL the registry handed back: it must stay on the registry, or credentials and data would follow it. */
  private uploadUrl(location: string | null, current: string, what: string): string {
    let url: URL;
    try {
      url = new URL(location ?? "", current);
    } catch {
      throw new BootstreamError(
        "IO",
        `${this.registry}: bad upload location ${shown(location ?? "")} for ${what}`,
      );
    }
    if (location === null || url.origin !== this.origin)
      throw new BootstreamError(
        "IO",
        `${this.registry}: refusing upload location ${shown(location ?? "(none)")} for ${what}: it leaves ${this.origin}`,
      );
    return url.href;
  }

  private fail(reply: HttpReply, what: string): never {
    const text = oneLine(reply.body.toString("utf8", 0, 600));
    const code =
      reply.status === 404
        ? "NOT_FOUND"
        : reply.status === 401 || reply.status === 403
          ? "UNAUTHORIZED"
          : "IO";
    throw new BootstreamError(
      code,
      `${this.registry}: ${what} failed: HTTP ${reply.status}${text ? ` ${text}` : ""}`,
    );
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    const what = `checking blob ${digest}`;
    const reply = await this.send(
      "HEAD",
      `/v2/${repository}/blobs/${digest}`,
      { maxBytes: MAX_ERROR_BYTES },
      what,
    );
    if (reply.status === 200) return true;
    if (reply.status === 404) return false;
    return this.fail(reply, what);
  }

  /** Uploads a blob unless the registry has it; returns whether it was sent. */
  async pushBlob(repository: string, blob: Blob): Promise<boolean> {
    if (await this.blobExists(repository, blob.digest)) return false;
    const what = `uploading ${blob.digest}`;
    const start = await this.send(
      "POST",
      `/v2/${repository}/blobs/uploads/`,
      { maxBytes: MAX_ERROR_BYTES },
      what,
    );
    if (start.status !== 202) return this.fail(start, `starting the upload of ${blob.digest}`);
    let location = this.uploadUrl(start.headers.get("location"), `${this.origin}/`, what);
    const chunk = this.options.chunkSize ?? 0;
    let body: Uint8Array | undefined = blob.bytes;
    if (chunk > 0 && blob.size > chunk) {
      for (let offset = 0; offset < blob.size; offset += chunk) {
        const part = blob.bytes.subarray(offset, Math.min(offset + chunk, blob.size));
        const reply = await this.send(
          "PATCH",
          location,
          {
            headers: {
              "content-type": "application/octet-stream",
              "content-range": `${offset}-${offset + part.byteLength - 1}`,
              "content-length": String(part.byteLength),
            },
            body: part,
            maxBytes: MAX_ERROR_BYTES,
          },
          what,
        );
        if (reply.status !== 202) return this.fail(reply, `uploading a chunk of ${blob.digest}`);
        location = this.uploadUrl(reply.headers.get("location") ?? location, location, what);
      }
      body = undefined;
    }
    const done = new URL(location);
    done.searchParams.set("digest", blob.digest);
    const reply = await this.send(
      "PUT",
      done.href,
      {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(body?.byteLength ?? 0),
        },
        ...(body ? { body } : {}),
        maxBytes: MAX_ERROR_BYTES,
      },
      `finishing the upload of ${blob.digest}`,
    );
    if (reply.status !== 201) return this.fail(reply, `finishing the upload of ${blob.digest}`);
    return true;
  }

  async putManifest(repository: string, reference: string, manifest: Blob): Promise<string> {
    const what = `pushing the manifest of ${repository}:${reference}`;
    const reply = await this.send(
      "PUT",
      `/v2/${repository}/manifests/${reference}`,
      { headers: { "content-type": manifest.mediaType }, body: manifest.bytes, maxBytes: MAX_ERROR_BYTES },
      what,
    );
    if (reply.status !== 201) return this.fail(reply, what);
    const digest = reply.headers.get("docker-content-digest");
    if (digest && digest !== manifest.digest) {
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `${this.registry} stored the manifest as ${shown(digest)}, expected ${manifest.digest}`,
      );
    }
    return manifest.digest;
  }

  /** The manifest's bytes (at most 4 MiB, checked against the digest asked for or announced) and its served media type. */
  async getManifest(repository: string, reference: string): Promise<Blob> {
    const reply = await this.send(
      "GET",
      `/v2/${repository}/manifests/${reference}`,
      { headers: { accept: MANIFEST_ACCEPT }, maxBytes: MAX_MANIFEST_BYTES },
      `reading ${repository}:${reference}`,
    );
    if (reply.status !== 200) return this.fail(reply, `reading the manifest of ${repository}:${reference}`);
    const bytes = reply.body;
    const digest = sha256Digest(bytes);
    const announced = reply.headers.get("docker-content-digest");
    if ((reference.startsWith("sha256:") && digest !== reference) || (announced && announced !== digest)) {
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `the manifest of ${repository}@${reference} hashes to ${digest}`,
      );
    }
    const type = (reply.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    return { mediaType: type, digest, size: bytes.byteLength, bytes };
  }

  /** The blob `d` names, at most `max` bytes, checked against its descriptor's size and digest. */
  async getBlob(repository: string, d: Descriptor, max: number, what = "blob"): Promise<Blob> {
    if (d.size > max)
      throw new BootstreamError(
        "TOO_LARGE",
        `${what} ${d.digest} is ${d.size} bytes by its descriptor, more than the ${max} a stream image needs`,
      );
    let reply: HttpReply;
    try {
      // Capped at the descriptor's size: a registry cannot send more than the manifest promised.
      // (A short error body still fits.)
      reply = await this.send(
        "GET",
        `/v2/${repository}/blobs/${d.digest}`,
        { maxBytes: Math.max(d.size, MAX_ERROR_BYTES) },
        `reading ${what} ${d.digest}`,
      );
    } catch (error) {
      if (error instanceof BootstreamError && error.code === "TOO_LARGE")
        throw new BootstreamError(
          "CHECKSUM_MISMATCH",
          `${what} ${d.digest} from ${this.registry} is longer than the ${d.size} bytes its descriptor says`,
          { cause: error },
        );
      throw error;
    }
    if (reply.status !== 200) return this.fail(reply, `reading ${what} ${d.digest}`);
    const bytes = reply.body;
    if (bytes.byteLength !== d.size)
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `${what} ${d.digest} from ${this.registry} is ${bytes.byteLength} bytes, its descriptor says ${d.size}`,
      );
    const actual = sha256Digest(bytes);
    if (actual !== d.digest)
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `${what} ${d.digest} from ${this.registry} hashes to ${actual}`,
      );
    return { mediaType: d.mediaType, digest: d.digest, size: bytes.byteLength, bytes };
  }
}
