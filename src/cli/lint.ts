/** `bootstream lint [--previous OLD] NEW`: the policy gate for stream bumps. */
import { Command } from "commander";
import { lintContent } from "../lint/index.ts";
import { printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import { readSource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  policyFrom,
  sourceOptions,
  streamBaseUrlOption,
  streamSourceOptions,
  type TrustFlags,
  withTrustOptions,
} from "./options.ts";
import { toJsonText } from "./render.ts";

export function registerLint(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    new Command("lint")
      .description("check a stream against a policy, alone or against the stream it replaces")
      .argument("<new>", "the stream to check")
      .option("--previous <old>", "the stream it replaces (enables downgrade and removal checks)")
      .option("--policy <file>", "policy YAML (see README for keys and defaults)")
      .option("--json", "print violations as [{pointer, rule, message}]")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Rules: schema, canonical, no-downgrade, no-dropped-architecture, no-dropped-platform,
no-dropped-format, no-dropped-image, no-dropped-region, stream-renamed,
last-modified-regress, signature-required, https-only, allowed-hosts, artifact-release,
mixed-releases. One line per violation: /json/pointer: rule-id: message. Exit 1 if any.

Examples:
  bootstream lint stable.json
  bootstream lint --previous /tmp/base.json --policy policy.yaml stable.json
  bootstream lint --json --previous https://builds.coreos.fedoraproject.org/streams/stable.json stable.json`,
      )
      .action(
        (
          source: string,
          opts: { previous?: string; policy?: string; json?: boolean; streamBaseUrl?: string } & TrustFlags,
        ) =>
          kit.run(opts.json, async () => {
            const policy = await policyFrom(opts.policy);
            // The candidate is not published (nor signed) yet: the trust flags check --previous.
            const previous = opts.previous
              ? (await loadStream(opts.previous, streamSourceOptions(ctx, opts))).stream
              : undefined;
            const { bytes } = await readSource(source, sourceOptions(ctx, opts));
            const violations = lintContent({ content: bytes, policy, ...(previous ? { previous } : {}) });
            if (opts.json) ctx.stdout.write(toJsonText(violations));
            else
              for (const v of violations)
                writeLine(ctx.stdout, `${printable(v.pointer || "/")}: ${v.rule}: ${printable(v.message)}`);
            if (!opts.json)
              writeLine(
                ctx.stderr,
                violations.length === 0
                  ? "no violations"
                  : `${violations.length} violation${violations.length === 1 ? "" : "s"}`,
              );
            return violations.length === 0 ? 0 : 1;
          }),
      ),
  );
}
