/**
 * Overrides applied to a generated stream: per architecture, pin a value (a platform, a
 * region's image, the GCP image, ...) or remove one. Paths are JSON pointers relative to
 * the architecture entry. The file is YAML or JSON:
 *
 *   architectures:
 *     x86_64:
 *       remove:
 *         - /artifacts/vmware
 *         - /images/aws/regions/ap-east-1
 *       pin:
 *         /images/aws/regions/me-south-1: { release: 36.20220505.3.2, image: ami-0123456789abcdef0 }
 */
import { z } from "zod";
import { BootstreamError, parsePointer, toPointer } from "../errors.ts";
import { archName } from "../schema/common.ts";
import { parseConfig } from "../schema/config.ts";
import { isPlainObject } from "../schema/documents.ts";
import type { Stream } from "../schema/stream.ts";

const pointer = z
  .string()
  .regex(/^\/./, { error: 'a JSON pointer inside the architecture, like "/images/aws"' });

export const overrideSchema = z.strictObject({
  architectures: z.record(
    archName,
    z.strictObject({
      remove: z.array(pointer).optional(),
      pin: z.record(pointer, z.unknown()).optional(),
    }),
  ),
});

export type StreamOverride = z.infer<typeof overrideSchema>;

/** Parses an override file's text (YAML, which includes JSON). */
export function parseOverride(text: string, name = "override"): StreamOverride {
  return parseConfig(text, name, overrideSchema);
}

/** Applies overrides in place: pins first, then removals. A path that is not there is an error. */
export function applyOverride(stream: Stream, override: StreamOverride): Stream {
  for (const [arch, rules] of Object.entries(override.architectures)) {
    const entry = stream.architectures[arch];
    if (entry === undefined) {
      throw new BootstreamError(
        "NOT_FOUND",
        `override names architecture ${arch}, which the stream does not have`,
        {
          path: toPointer(["architectures", arch]),
        },
      );
    }
    for (const [path, value] of Object.entries(rules.pin ?? {})) {
      const tokens = parsePointer(path);
      let node: Record<string, unknown> = entry as Record<string, unknown>;
      for (const token of tokens.slice(0, -1)) {
        const next = node[token];
        if (next === undefined) node[token] = {};
        else if (!isPlainObject(next)) {
          throw new BootstreamError(
            "USAGE",
            `override pin ${arch} ${path} goes through ${token}, which is not an object`,
          );
        }
        node = node[token] as Record<string, unknown>;
      }
      node[tokens.at(-1) as string] = structuredClone(value);
    }
    for (const path of rules.remove ?? []) {
      const tokens = parsePointer(path);
      let node: unknown = entry;
      for (const token of tokens.slice(0, -1)) node = isPlainObject(node) ? node[token] : undefined;
      const last = tokens.at(-1) as string;
      if (!isPlainObject(node) || !Object.hasOwn(node, last)) {
        throw new BootstreamError(
          "NOT_FOUND",
          `override removes ${arch} ${path}, which the stream does not have`,
          {
            path: toPointer(["architectures", arch, ...tokens]),
          },
        );
      }
      delete node[last];
    }
  }
  return stream;
}
