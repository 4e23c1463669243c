/**
 * A client for the OCI distribution API, just what carrying a stream needs: blob upload
 * (monolithic, or chunked with PATCH), manifest PUT and GET, blob GET, each checked
 * against its digest; bearer-token (WWW-Authenticate: Bearer realm=...) and basic auth.
 * Written on fetch: the registry libraries on npm are either abandoned or pull in a
 * container runtime's worth of features for these five requests.
 */
import { createHash } from "node:crypto";
import { BootstreamError } from "../errors.ts";
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

export interface RegistryOptions {
  /** Plain HTTP and no certificate checks (`--tls-verify=false`), for local registries. */
  insecure?: boolean;
  username?: string;
  password?: string;
  /** Upload blobs larger than this in PATCH chunks of this size (0: monolithic). */
  chunkSize?: number;
}

function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
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

export class RegistryClient {
  private readonly base: string;
  private authorization: string | undefined;

  constructor(
    readonly registry: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.base = `${options.insecure ? "http" : "https"}://${registry}`;
  }

  private basic(): string | undefined {
    if (this.options.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ""}`).toString("base64")}`;
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
      throw new BootstreamError("UNAUTHORIZED", `${this.registry}: unsupported auth challenge ${challenge}`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    if (params.scope) url.searchParams.set("scope", params.scope);
    const basic = this.basic();
    const response = await fetch(url, { headers: basic ? { authorization: basic } : {} });
    if (!response.ok) {
      await response.body?.cancel();
      throw new BootstreamError(
        "UNAUTHORIZED",
        `${this.registry}: token request for ${what} refused (HTTP ${response.status})`,
      );
    }
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token)
      throw new BootstreamError("UNAUTHORIZED", `${this.registry}: the token service returned no token`);
    this.authorization = `Bearer ${token}`;
  }

  private async request(
    method: string,
    pathOrUrl: string,
    init: { headers?: Record<string, string>; body?: Uint8Array } = {},
    what = pathOrUrl,
  ): Promise<Response> {
    const url = pathOrUrl.startsWith("http") ? pathOrUrl : `${this.base}${pathOrUrl}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = {
        ...init.headers,
        ...(this.authorization ? { authorization: this.authorization } : {}),
      };
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          ...(init.body ? { body: init.body } : {}),
          redirect: "follow",
        });
      } catch (cause) {
        const code = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
        throw new BootstreamError("IO", `cannot reach ${this.registry} for ${what}: ${code}`, { cause });
      }
      const challenge = response.headers.get("www-authenticate");
      if (response.status === 401 && challenge && attempt === 0) {
        await response.body?.cancel();
        await this.authenticate(challenge, what);
        continue;
      }
      if (response.status === 401 && attempt > 0) {
        await response.body?.cancel();
        break;
      }
      return response;
    }
    throw new BootstreamError("UNAUTHORIZED", `${this.registry} refused the credentials for ${what}`);
  }

  private async fail(response: Response, what: string): Promise<never> {
    const text = (await response.text()).slice(0, 300).trim();
    const code =
      response.status === 404
        ? "NOT_FOUND"
        : response.status === 401 || response.status === 403
          ? "UNAUTHORIZED"
          : "IO";
    throw new BootstreamError(
      code,
      `${this.registry}: ${what} failed: HTTP ${response.status}${text ? ` ${text}` : ""}`,
    );
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    const response = await this.request("HEAD", `/v2/${repository}/blobs/${digest}`);
    await response.body?.cancel();
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    return this.fail(response, `checking blob ${digest}`);
  }

  /** Uploads a blob unless the registry has it; returns whether it was sent. */
  async pushBlob(repository: string, blob: Blob): Promise<boolean> {
    if (await this.blobExists(repository, blob.digest)) return false;
    const start = await this.request(
      "POST",
      `/v2/${repository}/blobs/uploads/`,
      {},
      `uploading ${blob.digest}`,
    );
    await start.body?.cancel();
    if (start.status !== 202) return this.fail(start, `starting the upload of ${blob.digest}`);
    let location = new URL(start.headers.get("location") ?? "", `${this.base}/`).href;
    const chunk = this.options.chunkSize ?? 0;
    let body: Uint8Array | undefined = blob.bytes;
    if (chunk > 0 && blob.size > chunk) {
      for (let offset = 0; offset < blob.size; offset += chunk) {
        const part = blob.bytes.subarray(offset, Math.min(offset + chunk, blob.size));
        const response = await this.request(
          "PATCH",
          location,
          {
            headers: {
              "content-type": "application/octet-stream",
              "content-range": `${offset}-${offset + part.byteLength - 1}`,
              "content-length": String(part.byteLength),
            },
            body: part,
          },
          `uploading ${blob.digest}`,
        );
        await response.body?.cancel();
        if (response.status !== 202) return this.fail(response, `uploading a chunk of ${blob.digest}`);
        location = new URL(response.headers.get("location") ?? location, `${this.base}/`).href;
      }
      body = undefined;
    }
    const done = new URL(location);
    done.searchParams.set("digest", blob.digest);
    const response = await this.request(
      "PUT",
      done.href,
      {
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(body?.byteLength ?? 0),
        },
        ...(body ? { body } : {}),
      },
      `finishing the upload of ${blob.digest}`,
    );
    await response.body?.cancel();
    if (response.status !== 201) return this.fail(response, `finishing the upload of ${blob.digest}`);
    return true;
  }

  async putManifest(repository: string, reference: string, manifest: Blob): Promise<string> {
    const response = await this.request(
      "PUT",
      `/v2/${repository}/manifests/${reference}`,
      { headers: { "content-type": manifest.mediaType }, body: manifest.bytes },
      `pushing the manifest of ${repository}:${reference}`,
    );
    await response.body?.cancel();
    if (response.status !== 201)
      return this.fail(response, `pushing the manifest of ${repository}:${reference}`);
    const digest = response.headers.get("docker-content-digest");
    if (digest && digest !== manifest.digest) {
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `${this.registry} stored the manifest as ${digest}, expected ${manifest.digest}`,
      );
    }
    return manifest.digest;
  }

  async getManifest(repository: string, reference: string): Promise<Blob> {
    const response = await this.request(
      "GET",
      `/v2/${repository}/manifests/${reference}`,
      { headers: { accept: MANIFEST_ACCEPT } },
      `reading ${repository}:${reference}`,
    );
    if (!response.ok) return this.fail(response, `reading the manifest of ${repository}:${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    const announced = response.headers.get("docker-content-digest");
    if ((reference.startsWith("sha256:") && digest !== reference) || (announced && announced !== digest)) {
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `the manifest of ${repository}@${reference} hashes to ${digest}`,
      );
    }
    return {
      mediaType: response.headers.get("content-type") ?? MEDIA_TYPES.manifest,
      digest,
      size: bytes.byteLength,
      bytes,
    };
  }

  async getBlob(
    repository: string,
    digest: string,
    mediaType: string,
    maxBytes = 256 * 1024 * 1024,
  ): Promise<Blob> {
    const response = await this.request(
      "GET",
      `/v2/${repository}/blobs/${digest}`,
      {},
      `reading blob ${digest}`,
    );
    if (!response.ok) return this.fail(response, `reading blob ${digest}`);
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > maxBytes) {
      await response.body?.cancel();
      throw new BootstreamError(
        "TOO_LARGE",
        `blob ${digest} is ${length} bytes, more than a stream image holds`,
      );
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    const actual = sha256Digest(bytes);
    if (actual !== digest)
      throw new BootstreamError(
        "CHECKSUM_MISMATCH",
        `blob ${digest} from ${this.registry} hashes to ${actual}`,
      );
    return { mediaType, digest, size: bytes.byteLength, bytes };
  }
}
