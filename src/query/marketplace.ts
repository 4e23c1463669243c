/**
 * Azure Marketplace images of RHCOS (stream-metadata-go `rhcos.AzureMarketplace`, under
 * `rhel-coreos-extensions.marketplace.azure`): per plan (`no-purchase-plan`, `ocp`, `opp`,
 * `oke` and their `-emea` twins) and Hyper-V generation, the image `az vm create --image`
 * and a MachineSet's `image` take.
 */
import { compareKeys } from "../canonical/layout.ts";
import { toPointer } from "../errors.ts";
import type { Stream } from "../schema/stream.ts";
import { getArchitecture } from "./index.ts";

export interface MarketplaceImage {
  architecture: string;
  /** The purchase plan the stream files it under: no-purchase-plan, ocp, opp, oke, ocp-emea, ... */
  plan: string;
  /** hyperVGen1 or hyperVGen2. */
  generation: string;
  publisher: string;
  offer: string;
  sku: string;
  version: string;
  /** `publisher:offer:sku:version`, the URN the Azure CLI takes. */
  urn: string;
  pointer: string;
}

/** Every marketplace image of an architecture, by plan and generation; [] when it has none. */
export function listMarketplaceImages(stream: Stream, architecture: string): MarketplaceImage[] {
  const azure = getArchitecture(stream, architecture)["rhel-coreos-extensions"]?.marketplace?.azure;
  if (azure === undefined) return [];
  const plans = azure as Record<string, Record<string, Record<string, unknown> | undefined> | undefined>;
  const out: MarketplaceImage[] = [];
  for (const plan of Object.keys(plans).sort(compareKeys)) {
    const generations = plans[plan] ?? {};
    for (const generation of Object.keys(generations).sort(compareKeys)) {
      const { publisher, offer, sku, version } = generations[generation] ?? {};
      // The schema requires all four for known plans; an unknown plan may hold anything.
      if (![publisher, offer, sku, version].every((p) => typeof p === "string")) continue;
      const fields = { publisher, offer, sku, version } as Record<
        "publisher" | "offer" | "sku" | "version",
        string
      >;
      out.push({
        architecture,
        plan,
        generation,
        ...fields,
        urn: [fields.publisher, fields.offer, fields.sku, fields.version].join(":"),
        pointer: toPointer([
          "architectures",
          architecture,
          "rhel-coreos-extensions",
          "marketplace",
          "azure",
          plan,
          generation,
        ]),
      });
    }
  }
  return out;
}

/** The marketplace image of one plan and generation, or undefined when the stream has none. */
export function findMarketplaceImage(
  stream: Stream,
  query: { architecture: string; plan: string; generation: string },
): MarketplaceImage | undefined {
  return listMarketplaceImages(stream, query.architecture).find(
    (i) => i.plan === query.plan && i.generation === query.generation,
  );
}
