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

/** Override files are a few lines; anything near this size is a mistake or an attack. */
export const MAX_OVERRIDE_BYTES = 1024 * 1024;

/**
 * Names that reach an object's prototype when used as a property name. A pin or removal
 * through them would change every object of the process (prototype pollution), so they are
 * refused wherever they appear in an override: a pointer token, an architecture, or a key
 * of a pinned value. There is no legitimate stream field of these names.
 */
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Parses an override file's text (YAML, which includes JSON). */
export function parseOverride(text: string, name = "override"): StreamOverride {
  return checkOverride(parseConfig(text, name, overrideSchema), name);
}

/** Refuses an override that names `__proto__`, `constructor` or `prototype` anywhere (USAGE). */
export function checkOverride(override: StreamOverride, name = "override"): StreamOverride {
  const refuse = (where: string, token: string) =>
    new BootstreamError(
      "USAGE",
      `${name}: ${where}: ${JSON.stringify(token)} is not allowed in an override (it would reach the prototype of every object)`,
      { path: where },
    );
  for (const [arch, rules] of Object.entries(override.architectures)) {
    if (FORBIDDEN_NAMES.has(arch)) throw refuse(`architectures ${arch}`, arch);
    const pointers = [...(rules.remove ?? []), ...Object.keys(rules.pin ?? {})];
    for (const path of pointers) {
      const bad = parsePointer(path).find((token) => FORBIDDEN_NAMES.has(token));
      if (bad !== undefined) throw refuse(`architectures ${arch} ${path}`, bad);
    }
    for (const [path, value] of Object.entries(rules.pin ?? {})) {
      const bad = forbiddenKeyIn(value);
      if (bad !== undefined) throw refuse(`architectures ${arch} pin ${path}${bad.at}`, bad.key);
    }
  }
  return override;
}

/** The first forbidden key inside a pinned value, with its pointer relative to the value. */
function forbiddenKeyIn(root: unknown): { key: string; at: string } | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== "object" || item.value === null) continue;
    for (const [key, child] of Object.entries(item.value)) {
      const path = [...item.path, key];
      if (FORBIDDEN_NAMES.has(key)) return { key, at: toPointer(path) };
      stack.push({ value: child, path });
    }
  }
  return undefined;
}

/** Applies overrides in place: pins first, then removals. A path that is not there is an error. */
export function applyOverride(stream: Stream, override: StreamOverride): Stream {
  checkOverride(override);
  for (const [arch, rules] of Object.entries(override.architectures)) {
    const entry = Object.hasOwn(stream.architectures, arch) ? stream.architectures[arch] : undefined;
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
        const next = Object.hasOwn(node, token) ? node[token] : undefined;
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
      for (const token of tokens.slice(0, -1))
        node = isPlainObject(node) && Object.hasOwn(node, token) ? node[token] : undefined;
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
