/**
 * The lint policy: which rules run and with what settings. Read from YAML (or JSON); every
 * key is optional and falls back to DEFAULT_POLICY, which README.md documents.
 */
import { z } from "zod";
import { parseConfig } from "../schema/config.ts";

export const RULE_IDS = [
  "schema",
  "canonical",
  "no-downgrade",
  "no-dropped-architecture",
  "no-dropped-platform",
  "no-dropped-format",
  "no-dropped-image",
  "no-dropped-region",
  "stream-renamed",
  "last-modified-regress",
  "signature-required",
  "https-only",
  "allowed-hosts",
  "artifact-release",
  "mixed-releases",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** Hosts artifact URLs may use when a policy does not say. */
const DEFAULT_ALLOWED_HOSTS = ["builds.coreos.fedoraproject.org", "rhcos.mirror.openshift.com"];

/**
 * The policy file as written (kebab-case keys, all optional) and, through the transform, the
 * Policy the rules read: every setting present, defaults filled in.
 */
export const policySchema = z
  .strictObject({
    "require-signatures": z.boolean().optional(),
    "https-only": z.boolean().optional(),
    /** Hosts artifact URLs may use; "*.example.com" matches subdomains. Empty list: any host. */
    "allowed-hosts": z.array(z.string().min(1)).optional(),
    /** Architectures whose release may go backwards (e.g. a pulled release). */
    "allow-downgrade": z.array(z.string()).optional(),
    /** JSON pointers that may disappear versus --previous (an arch, platform, region, ...). */
    "allow-removal": z.array(z.string().regex(/^\//, { error: "a JSON pointer" })).optional(),
    disable: z.array(z.enum(RULE_IDS)).optional(),
  })
  .transform((p) => ({
    requireSignatures: p["require-signatures"] ?? false,
    httpsOnly: p["https-only"] ?? true,
    allowedHosts: p["allowed-hosts"] ?? [...DEFAULT_ALLOWED_HOSTS],
    allowDowngrade: p["allow-downgrade"] ?? [],
    allowRemoval: p["allow-removal"] ?? [],
    disabled: p.disable ?? [],
  }));

/** A lint policy, as the rules read it (inferred from policySchema). */
export type Policy = z.output<typeof policySchema>;

/** The policy of an empty policy file. */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze(policySchema.parse({}));

export function parsePolicy(text: string, name = "policy"): Policy {
  return parseConfig(text, name, policySchema);
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((pattern) =>
    pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) : host === pattern,
  );
}
