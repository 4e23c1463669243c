/** `bootstream query`: print artifact URLs (or another field) for arch + platform + format. */
import { Command, Option } from "commander";
import { BootstreamError } from "../errors.ts";
import { ARTIFACT_KINDS, type ArtifactKind, type ArtifactRef, findArtifacts } from "../query/index.ts";
import { printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withArchOption, withTrustOptions } from "./options.ts";
import { toJsonText } from "./render.ts";

export const ARTIFACT_FIELDS = ["location", "signature", "sha256", "uncompressed-sha256", "release"] as const;
type ArtifactField = (typeof ARTIFACT_FIELDS)[number];

interface QueryOptions {
  arch: string;
  platform?: string;
  format?: string;
  kind?: ArtifactKind;
  field: ArtifactField;
  json?: boolean;
  streamBaseUrl?: string;
}

export function artifactField(ref: ArtifactRef, field: ArtifactField): string {
  const value = field === "release" ? ref.release : ref.artifact[field];
  if (value === undefined || value === "") {
    throw new BootstreamError(
      "NOT_FOUND",
      `${ref.architecture} ${ref.platform} ${ref.format} ${ref.kind} has no ${field}`,
      { path: ref.pointer },
    );
  }
  return value;
}

export function registerQuery(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    withArchOption(
      new Command("query")
        .description("print the URL (or another field) of artifacts chosen by arch, platform and format")
        .argument("<source>", "stream file, -, URL or stream name"),
      ctx.hostArch,
    )
      .option("-p, --platform <platform>", "platform (metal, qemu, aws, ...)")
      .option("-f, --format <format>", "format (iso, pxe, raw.xz, qcow2.xz, ...)")
      .addOption(new Option("-k, --kind <kind>", "file of the format").choices(ARTIFACT_KINDS))
      .addOption(
        new Option("--field <field>", "what to print for each artifact")
          .choices(ARTIFACT_FIELDS)
          .default("location"),
      )
      .option("--json", "print the matching artifacts as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
Prints one line per matching file; PXE gives kernel, initramfs and rootfs in that order.
A missing architecture, platform or format exits 1 and names what the stream has.

Examples:
  bootstream query stable.json -a x86_64 -p metal -f iso
  bootstream query stable.json -a x86_64 -p metal -f pxe
  bootstream query stable.json -a aarch64 -p qemu -f qcow2.xz --field sha256
  bootstream query stable --stream-base-url http://mirror.example/streams/ -p metal -f iso`,
      )
      .action((source: string, opts: QueryOptions) =>
        kit.run(opts.json, async () => {
          const { stream } = await loadStream(source, streamSourceOptions(ctx, opts));
          const refs = findArtifacts(stream, {
            architecture: opts.arch,
            ...(opts.platform === undefined ? {} : { platform: opts.platform }),
            ...(opts.format === undefined ? {} : { format: opts.format }),
            ...(opts.kind === undefined ? {} : { kind: opts.kind }),
          });
          if (opts.json) {
            ctx.stdout.write(
              toJsonText(
                refs.map((r) => ({
                  architecture: r.architecture,
                  platform: r.platform,
                  format: r.format,
                  kind: r.kind,
                  release: r.release,
                  ...r.artifact,
                })),
              ),
            );
          } else {
            for (const ref of refs) writeLine(ctx.stdout, printable(artifactField(ref, opts.field)));
          }
          return 0;
        }),
      ),
  );
}
