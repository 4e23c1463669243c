/**
 * An artifact's detached signature: small, so fetched whole, capped at 1 MiB and under
 * the same deadlines as any request. No signature where the stream says there is one
 * (404/410) is a signature failure (exit 4), not a missing artifact: the artifact itself
 * may be there, but it cannot be proven.
 */
import { BootstreamError } from "../errors.ts";
import { type Deadlines, httpRequest } from "../net/http.ts";
import { httpUrl } from "./url-path.ts";

export const SIGNATURE_MAX_BYTES = 1024 * 1024;

export async function fetchSignature(
  url: string,
  options: { deadlines?: Deadlines; signal?: AbortSignal; pointer?: string } = {},
): Promise<Uint8Array> {
  httpUrl(url, options.pointer === undefined ? {} : { pointer: options.pointer });
  const reply = await httpRequest(url, {
    maxBytes: SIGNATURE_MAX_BYTES,
    ...options.deadlines,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (reply.status === 404 || reply.status === 410) {
    throw new BootstreamError("SIGNATURE_INVALID", `no signature at ${url} (HTTP ${reply.status})`, {
      path: url,
    });
  }
  if (reply.status < 200 || reply.status > 299) {
    throw new BootstreamError(
      "IO",
      `cannot fetch ${url}: HTTP ${reply.status} ${reply.statusText}`.trimEnd(),
      {
        path: url,
      },
    );
  }
  return reply.body;
}
