/** `bootstream configmap`: the in-cluster ConfigMap carrying a stream, and back. */
import { Command } from "commander";
import { decodeUtf8Text } from "../canonical/parse.ts";
import { PLACEHOLDER_RELEASE_VERSION, parseStreamConfigMap, streamConfigMap } from "../kube/configmap.ts";
import { readSource } from "../source/read.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { sourceOptions, streamBaseUrlOption, type TrustFlags, withTrustOptions } from "./options.ts";
import { emitDocument } from "./output.ts";
import { canonicalStream } from "./stream-source.ts";

export function registerConfigMap(kit: CommandKit): Command {
  const { ctx } = kit;
  const command = new Command("configmap")
    .description("emit the coreos-bootimages ConfigMap for a stream, or extract the stream from one")
    .addHelpText(
      "after",
      `
Examples:
  bootstream configmap stable.json --release-version 4.16.0 > coreos-bootimages.yaml
  bootstream configmap rhcos-4.16.json --namespace my-ns --name my-bootimages
  bootstream configmap extract coreos-bootimages.yaml > stream.json
  kubectl get configmap -n openshift-machine-config-operator coreos-bootimages -o yaml | bootstream configmap extract -`,
    );
  command.addCommand(
    withTrustOptions(new Command("create"))
      .description("print the ConfigMap YAML (the default subcommand: `configmap SOURCE ...`)")
      .argument("<source>", "stream file, -, URL or stream name")
      .option(
        "--release-version <version>",
        "data.releaseVersion (release tooling replaces the placeholder)",
        PLACEHOLDER_RELEASE_VERSION,
      )
      .option("--namespace <ns>", "metadata.namespace", "openshift-machine-config-operator")
      .option("--name <name>", "metadata.name", "coreos-bootimages")
      .option("-o, --output <file>", "write here (atomically) instead of stdout")
      .addOption(streamBaseUrlOption())
      .action(
        (
          source: string,
          flags: {
            releaseVersion: string;
            namespace: string;
            name: string;
            output?: string;
            streamBaseUrl?: string;
          } & TrustFlags,
        ) =>
          kit.run(false, async () => {
            const { text } = await canonicalStream(kit, source, flags);
            const yaml = streamConfigMap(text, {
              releaseVersion: flags.releaseVersion,
              namespace: flags.namespace,
              name: flags.name,
            });
            await emitDocument(ctx, yaml, flags.output);
            return 0;
          }),
      ),
    { isDefault: true },
  );
  command.addCommand(
    new Command("extract")
      .description("print the stream a ConfigMap carries, byte for byte")
      .argument("<file>", "ConfigMap YAML or JSON file, or -")
      .option("-o, --output <file>", "write here (atomically) instead of stdout")
      .action((file: string, flags: { output?: string }) =>
        kit.run(false, async () => {
          const { bytes, name } = await readSource(file, sourceOptions(ctx, {}));
          const parsed = parseStreamConfigMap(decodeUtf8Text(bytes, name), name);
          await emitDocument(ctx, parsed.stream, flags.output);
          writeLine(
            ctx.stderr,
            `${name}: ${parsed.namespace}/${parsed.name}, releaseVersion ${parsed.releaseVersion ?? "(none)"}`,
          );
          return 0;
        }),
      ),
  );
  return command;
}
