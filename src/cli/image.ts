/** `bootstream image`: print the cloud image (AMI, GCP image, KubeVirt container, ...) for an arch. */
import { Command } from "commander";
import { BootstreamError } from "../errors.ts";
import { type CloudImage, findImage, isRegionalPlatform, listImages } from "../query/index.ts";
import { printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { streamBaseUrlOption, streamSourceOptions, withArchOption, withTrustOptions } from "./options.ts";
import { renderTable, toJsonText } from "./render.ts";

interface ImageOptions {
  arch: string;
  platform: string;
  region?: string;
  field?: string;
  json?: boolean;
  streamBaseUrl?: string;
}

/** The fields worth printing for an image, in stream order, without bookkeeping. */
export function imageFields(image: CloudImage): [string, string][] {
  return Object.entries(image).filter(
    (e): e is [string, string] =>
      typeof e[1] === "string" && !["architecture", "platform", "pointer", "region"].includes(e[0]),
  );
}

/** The one value a script wants from an image of this platform. */
function primaryValue(image: CloudImage): string | undefined {
  switch (image.platform) {
    case "gcp":
      return undefined;
    case "ibmcloud":
    case "powervs":
      return image.object;
    case "azure-disk":
      return image.url;
    default:
      return image.image;
  }
}

export function registerImage(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    withArchOption(
      new Command("image")
        .description(
          "print the cloud image of an architecture: AMI per region, GCP image, KubeVirt container, ...",
        )
        .argument("<source>", "stream file, -, URL or stream name"),
      ctx.hostArch,
    )
      .requiredOption(
        "-p, --platform <platform>",
        "aws, aliyun, gcp, ibmcloud, powervs, kubevirt, aws-winli, azure-disk",
      )
      .option("--region <region>", "region, for aws, aliyun, ibmcloud, powervs and aws-winli")
      .option(
        "--field <name>",
        "print only this field (image, project, family, name, digest-ref, release, url, ...)",
      )
      .option("--json", "print the image as JSON")
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
For aws and aliyun with --region, prints the image id alone; without --region, a table of
every region. gcp prints project, family and name; kubevirt the image and its digest-ref.

Examples:
  bootstream image stable.json -a x86_64 -p aws --region us-east-1
  bootstream image stable.json -a x86_64 -p aws
  bootstream image stable.json -a x86_64 -p gcp
  bootstream image stable.json -a x86_64 -p gcp --field name
  bootstream image stable.json -a x86_64 -p kubevirt --field digest-ref`,
      )
      .action((source: string, opts: ImageOptions) =>
        kit.run(opts.json, async () => {
          const { stream } = await loadStream(source, streamSourceOptions(ctx, opts));
          const query = { architecture: opts.arch, platform: opts.platform };
          const images =
            isRegionalPlatform(opts.platform) && opts.region === undefined
              ? listImages(stream, query)
              : [findImage(stream, opts.region === undefined ? query : { ...query, region: opts.region })];
          if (opts.json) {
            const data = images.map(({ pointer: _pointer, ...rest }) => rest);
            ctx.stdout.write(toJsonText(images.length === 1 && opts.region !== undefined ? data[0] : data));
            return 0;
          }
          if (opts.field !== undefined) {
            const field = opts.field;
            for (const image of images) {
              const value = (image as unknown as Record<string, unknown>)[field];
              if (typeof value !== "string") {
                const have = imageFields(image).map(([k]) => k);
                throw new BootstreamError(
                  "NOT_FOUND",
                  `${opts.platform} image has no ${field}; available: ${have.join(", ")}`,
                  {
                    path: image.pointer,
                  },
                );
              }
              writeLine(
                ctx.stdout,
                images.length > 1
                  ? `${printable(image.region ?? "")}\t${printable(value)}`
                  : printable(value),
              );
            }
            return 0;
          }
          if (images.length > 1 || (isRegionalPlatform(opts.platform) && opts.region === undefined)) {
            const rows = images.map((i) =>
              [i.region ?? "", primaryValue(i) ?? "", i.release ?? ""].map(printable),
            );
            writeLine(ctx.stdout, renderTable(["REGION", "IMAGE", "RELEASE"], rows));
            return 0;
          }
          const image = images[0] as CloudImage;
          const primary = primaryValue(image);
          if (primary !== undefined && image.platform !== "kubevirt")
            writeLine(ctx.stdout, printable(primary));
          else
            for (const [k, v] of imageFields(image))
              writeLine(ctx.stdout, `${printable(k)}: ${printable(v)}`);
          return 0;
        }),
      ),
  );
}
