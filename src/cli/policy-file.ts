/** `--policy FILE` of lint, publish and serve: the lint policy a command runs with. */
import { DEFAULT_POLICY, type Policy, parsePolicy } from "../lint/policy.ts";
import { readLocalFile } from "./options.ts";

/** The policy in `path` (YAML or JSON), or the default policy without one. */
export async function policyFrom(path: string | undefined): Promise<Policy> {
  if (path === undefined) return DEFAULT_POLICY;
  return parsePolicy(new TextDecoder().decode(await readLocalFile(path, "policy")), path);
}
