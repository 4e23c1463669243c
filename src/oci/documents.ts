/**
 * The OCI documents bootstream reads (image index, image manifest, registry token answer),
 * as zod schemas, with the size caps that hold for them. A registry or a layout may be
 * hostile: every document is parsed here, at the edge, and a digest is checked against the
 * strict `sha256:<64 hex>` form before anything (a blob path, a URL) is built from it.
 */
import { z } from "zod";
import { BootstreamError, type Issue, toPointer } from "../errors.ts";
import { describeValue, valueAt } from "../schema/documents.ts";
import { invalidDocumentError } from "../schema/parse.ts";
import { quoted } from "../schema/text.ts";
import { bearerTokenSchema } from "../schema/token.ts";

/** Manifests and indexes: a stream image's is under 2 KiB; registries cap theirs at 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** The image config: a few hundred bytes for a stream image. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** A layer, compressed and inflated alike: the stream is tens of KB. */
export const MAX_LAYER_BYTES = 64 * 1024 * 1024;
/** A token service's JSON answer. */
export const MAX_TOKEN_BYTES = 64 * 1024;
/** Bodies we only read to quote in an error message, or to discard. */
export const MAX_ERROR_BYTES = 64 * 1024;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const digest = z.string().regex(DIGEST_PATTERN, { error: "a digest sha256:<64 lowercase hex>" });

/** A media type as RFC 6838 spells one (no spaces, quotes or control characters). */
const mediaType = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/, {
    error: "a media type such as application/vnd.oci.image.manifest.v1+json",
  });

const annotations = z.record(z.string(), z.string());

export const descriptorSchema = z.looseObject({
  mediaType,
  digest,
  size: z.number().int().nonnegative(),
  annotations: annotations.optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: mediaType.optional(),
  manifests: z.array(descriptorSchema),
});
export type ImageIndex = z.infer<typeof indexSchema>;

export const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: mediaType.optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: annotations.optional(),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

/** A bearer token goes into a header: printable ASCII only, so it cannot smuggle a line break. */
export const tokenAnswerSchema = z.looseObject({
  token: bearerTokenSchema.optional(),
  access_token: bearerTokenSchema.optional(),
});

function issueOf(issue: z.core.$ZodIssue, root: unknown): Issue {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const found = describeValue(valueAt(root, path));
  const expected =
    issue.code === "invalid_type"
      ? `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`
      : issue.code === "invalid_value"
        ? issue.values.map((v) => JSON.stringify(v)).join(" or ")
        : issue.message;
  return { pointer: toPointer(path), message: `expected ${expected}, found ${found}` };
}

/** `bytes` as JSON matching `schema`; INVALID_DOCUMENT naming `what` and the first bad field otherwise. */
export function parseOciJson<S extends z.ZodType>(bytes: Uint8Array, schema: S, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new BootstreamError("INVALID_DOCUMENT", `${what} is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const result = schema.safeParse(value);
  if (!result.success)
    throw invalidDocumentError(
      result.error.issues.map((i) => issueOf(i, value)),
      what,
    );
  return result.data;
}

/** A value from a peer, quoted for a one-line message (control characters escaped, length capped). */
export function shown(value: string, max = 100): string {
  return quoted(value.length > max ? `${value.slice(0, max)}…` : value);
}
