/**
 * Configuration files written by people (lint policy, stream overrides): YAML, which
 * includes JSON. A bad file is a usage error naming the file and the JSON pointer.
 */
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { BootstreamError, toPointer } from "../errors.ts";

export function parseConfig<S extends z.ZodType>(text: string, name: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    // An empty file means "all defaults".
    value = parseYaml(text, { prettyErrors: false }) ?? {};
  } catch (cause) {
    const reason = (cause as Error).message.split("\n")[0];
    throw new BootstreamError("USAGE", `${name}: not valid YAML or JSON: ${reason}`, { cause, path: name });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = toPointer((issue?.path ?? []).map((p) => (typeof p === "symbol" ? String(p) : p)));
    throw new BootstreamError("USAGE", `${name}: ${at || "/"}: ${issue?.message ?? "invalid"}`, { path: at });
  }
  return result.data;
}
