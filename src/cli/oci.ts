/** `bootstream oci build|push|extract|stream-info`: the stream inside an OCI image. */
import { Command, InvalidArgumentError } from "commander";
import { BootstreamError } from "../errors.ts";
import { buildStreamImage } from "../oci/image.ts";
import { extractStream, openImage, pushImage, streamInfo } from "../oci/index.ts";
import { parseLayoutArg, writeLayout } from "../oci/layout.ts";
import type { RegistryOptions } from "../oci/registry.ts";
import { checkDocument } from "../schema/parse.ts";
import type { CliContext, CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  deadlinesFrom,
  integerOption,
  secondsOption,
  streamBaseUrlOption,
  type TrustFlags,
  withTrustOptions,
} from "./options.ts";
import { emitDocument } from "./output.ts";
import { renderTable, toJsonText } from "./render.ts";
import { canonicalStream } from "./stream-source.ts";

interface RegistryFlags {
  tlsVerify: boolean;
  creds?: string;
  chunkSize?: number;
  timeout?: number;
}

function parseBool(value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new InvalidArgumentError("expected true or false");
}

function registryOptions(ctx: CliContext, flags: RegistryFlags): RegistryOptions {
  const creds = flags.creds ?? ctx.env.BOOTSTREAM_REGISTRY_CREDS;
  const colon = creds?.indexOf(":") ?? -1;
  const ms = flags.timeout === undefined ? undefined : Math.max(1, Math.round(flags.timeout * 1000));
  return {
    // --timeout wins over BOOTSTREAM_TIMEOUT; a whole blob gets a few idle periods, as documents do.
    ...(ms === undefined
      ? deadlinesFrom(ctx.env)
      : { connectTimeoutMs: ms, idleTimeoutMs: ms, totalTimeoutMs: ms * 4 }),
    insecure: !flags.tlsVerify,
    ...(creds && colon > 0 ? { username: creds.slice(0, colon), password: creds.slice(colon + 1) } : {}),
    ...(flags.chunkSize ? { chunkSize: flags.chunkSize } : {}),
  };
}

function withRegistryOptions(command: Command): Command {
  return command
    .option(
      "--tls-verify <bool>",
      "use https and verify certificates (false: plain http, for local registries)",
      parseBool,
      true,
    )
    .option(
      "--creds <user:password>",
      "registry credentials (env BOOTSTREAM_REGISTRY_CREDS); basic or bearer-token auth",
    )
    .option(
      "--timeout <seconds>",
      "give up on a registry that does not answer, or goes silent, for this long (env BOOTSTREAM_TIMEOUT; default 30)",
      secondsOption,
    );
}

export function registerOci(kit: CommandKit): Command {
  const { ctx } = kit;
  const oci = new Command("oci")
    .description("carry a stream in an OCI image: build a layout, push to a registry, extract")
    .addHelpText(
      "after",
      `
The image has one layer with /usr/share/bootstream/<name>.json and /manifests/coreos-bootimages.yaml
(the ConfigMap), the label io.openshift.release.operator=true, and manifest annotations naming
the stream, its last-modified and the releases per architecture. The same stream gives the same digests.

Examples:
  bootstream oci build stable.json --layout ./image:stable
  bootstream oci push stable.json quay.io/example/coreos-bootimages:4.16
  bootstream oci push stable.json 127.0.0.1:5000/bootstream/stable:latest --tls-verify=false
  bootstream oci extract 127.0.0.1:5000/bootstream/stable:latest --tls-verify=false -o stable.json
  bootstream oci stream-info quay.io/example/coreos-bootimages:4.16`,
    );

  oci.addCommand(
    withTrustOptions(new Command("build"))
      .description("write the stream image into an OCI image layout directory")
      .argument("<source>", "stream file, -, URL or stream name")
      .requiredOption(
        "--layout <dir[:tag]>",
        "image layout directory, optionally with a tag (default tag: the stream name)",
      )
      .option("--json", "print the manifest digest and annotations as JSON")
      .addOption(streamBaseUrlOption())
      .action(
        (source: string, flags: { layout: string; json?: boolean; streamBaseUrl?: string } & TrustFlags) =>
          kit.run(flags.json, async () => {
            const { stream, text } = await canonicalStream(kit, source, flags);
            const { dir, tag } = parseLayoutArg(flags.layout, stream.stream);
            const image = buildStreamImage(stream, text);
            await writeLayout(dir, image, tag);
            if (flags.json)
              ctx.stdout.write(
                toJsonText({ digest: image.manifest.digest, tag, annotations: image.annotations }),
              );
            else writeLine(ctx.stdout, image.manifest.digest);
            writeLine(ctx.stderr, `wrote ${dir} (tag ${tag})`);
            return 0;
          }),
      ),
  );

  oci.addCommand(
    withRegistryOptions(
      withTrustOptions(new Command("push"))
        .description("push the stream image to a registry (OCI distribution API)")
        .argument("<source>", "stream file, -, URL or stream name")
        .argument("<ref>", "image reference, e.g. registry.example.com/ns/coreos-bootimages:4.16")
        .option(
          "--chunk-size <bytes>",
          "upload blobs larger than this in chunks",
          integerOption(0, 1 << 30, "bytes"),
        )
        .addOption(streamBaseUrlOption()),
    ).action((source: string, ref: string, flags: RegistryFlags & { streamBaseUrl?: string } & TrustFlags) =>
      kit.run(false, async () => {
        const { stream, text } = await canonicalStream(kit, source, flags);
        const result = await pushImage(buildStreamImage(stream, text), ref, registryOptions(ctx, flags));
        writeLine(ctx.stdout, result.digest);
        writeLine(
          ctx.stderr,
          `pushed ${ref} (${result.blobsSent} blob${result.blobsSent === 1 ? "" : "s"} uploaded)`,
        );
        return 0;
      }),
    ),
  );

  oci.addCommand(
    withRegistryOptions(
      new Command("extract")
        .description("pull a stream image (every blob verified) and print or write its stream")
        .argument("<image>", "registry reference, or oci:DIR[:TAG] for an image layout")
        .option("-o, --output <file>", "write the stream here (atomically) instead of stdout")
        .option("--configmap", "print the ConfigMap manifest the image carries instead"),
    ).action((source: string, flags: RegistryFlags & { output?: string; configmap?: boolean }) =>
      kit.run(false, async () => {
        const extracted = await extractStream(await openImage(source, registryOptions(ctx, flags)));
        const check = checkDocument(extracted.stream, { kind: "stream" });
        if (check.issues.length > 0) {
          throw new BootstreamError(
            "INVALID_DOCUMENT",
            `the stream in ${source} is not valid: ${check.issues[0]?.pointer}: ${check.issues[0]?.message}`,
          );
        }
        if (flags.configmap) {
          if (!extracted.configMap)
            throw new BootstreamError("NOT_FOUND", `${source} carries no ConfigMap manifest`);
          await emitDocument(ctx, extracted.configMap, flags.output);
        } else await emitDocument(ctx, extracted.stream, flags.output);
        writeLine(ctx.stderr, `${source}: stream ${extracted.name} (manifest ${extracted.manifestDigest})`);
        return 0;
      }),
    ),
  );

  oci.addCommand(
    withRegistryOptions(
      new Command("stream-info")
        .description(
          "print the releases per architecture from the image's annotations, without pulling the layer",
        )
        .argument("<image>", "registry reference, or oci:DIR[:TAG]")
        .option("--json", "print as JSON"),
    ).action((source: string, flags: RegistryFlags & { json?: boolean }) =>
      kit.run(flags.json, async () => {
        const info = streamInfo(await openImage(source, registryOptions(ctx, flags)));
        if (flags.json) ctx.stdout.write(toJsonText(info));
        else {
          writeLine(ctx.stdout, `stream ${info.stream ?? "?"}, last modified ${info.lastModified ?? "?"}`);
          writeLine(ctx.stdout, renderTable(["ARCH", "RELEASE"], Object.entries(info.releases)));
        }
        return 0;
      }),
    ),
  );
  return oci;
}
