/**
 * Azure: the `image` of an AzureMachineProviderSpec against the stream's marketplace
 * images (rhel-coreos-extensions.marketplace.azure), chosen as reconcileAzureProviderSpec
 * does (openshift/machine-config-operator pkg/controller/machine-set-boot-image/
 * platform_helpers.go): the variant from publisher and offer (an image uploaded at install
 * time moves to the unpaid "no-purchase-plan" one), Hyper-V Gen2 from the resource ID, the
 * SKU or the architecture.
 */
import { listImages } from "../../query/index.ts";
import { findMarketplaceImage, listMarketplaceImages } from "../../query/marketplace.ts";
import { describeValue, isPlainObject } from "../../schema/documents.ts";
import type { Stream } from "../../schema/stream.ts";
import { dig, type ImageVerdict, type Json } from "./types.ts";

type MarketplaceVariant = "no-purchase-plan" | "ocp" | "opp" | "oke" | "ocp-emea" | "opp-emea" | "oke-emea";

/** The paid product lines (publisher, offer); EMEA regions publish as "redhat-limited". */
const PAID_VARIANTS: Readonly<Record<string, MarketplaceVariant>> = {
  "redhat/rh-ocp-worker": "ocp",
  "redhat/rh-opp-worker": "opp",
  "redhat/rh-oke-worker": "oke",
  "redhat-limited/rh-ocp-worker": "ocp-emea",
  "redhat-limited/rh-opp-worker": "opp-emea",
  "redhat-limited/rh-oke-worker": "oke-emea",
};

const IMAGE_FIELDS = ["publisher", "offer", "sku", "version", "resourceID", "type"] as const;

function text(image: Json, key: string): string {
  const v = image[key];
  return typeof v === "string" ? v : "";
}

/** An image as one string: the resource ID, or the URN `publisher:offer:sku:version` Azure's CLI takes. */
export function azureImageName(image: Json): string {
  const id = text(image, "resourceID");
  if (id !== "") return id;
  return ["publisher", "offer", "sku", "version"].map((k) => text(image, k)).join(":");
}

export function checkAzure(value: unknown, stream: Stream, arch: string): ImageVerdict {
  const image = dig(value, "image");
  if (!isPlainObject(image)) return { status: "unknown", reason: `image is ${describeValue(image)}` };
  for (const key of IMAGE_FIELDS) {
    if (image[key] !== undefined && typeof image[key] !== "string")
      return { status: "unknown", reason: `image.${key} is ${describeValue(image[key])}` };
  }
  const current = azureImageName(image);
  if (arch === "ppc64le" || arch === "s390x")
    return { status: "not-managed", current, reason: `Azure has no ${arch} machines` };
  const securityType = dig(value, "securityProfile", "settings", "securityType");
  if (typeof securityType === "string" && securityType !== "")
    return {
      status: "not-managed",
      current,
      reason: `securityType ${securityType}: the operator does not update these boot images (yet)`,
    };
  const legacy = text(image, "resourceID") !== "";
  const publisher = text(image, "publisher");
  const paid = PAID_VARIANTS[`${publisher}/${text(image, "offer")}`];
  const variant: MarketplaceVariant | undefined =
    legacy || publisher === "azureopenshift" ? "no-purchase-plan" : paid;
  if (variant === undefined)
    return {
      status: "unknown",
      current,
      reason:
        "not an RHCOS marketplace image (publisher azureopenshift, redhat or redhat-limited): a custom image",
    };
  // As the operator: "v2" in the SKU means Gen2 only for an image of type MarketplaceNoPlan;
  // any other (an older azureopenshift image without a type, a paid one) is Gen2 unless "gen1".
  const gen2 = legacy
    ? text(image, "resourceID").includes("gen2")
    : text(image, "type") === "MarketplaceNoPlan"
      ? text(image, "sku").includes("v2") || arch === "aarch64"
      : !text(image, "sku").includes("gen1");
  if (!Object.hasOwn(stream.architectures, arch))
    return { status: "unknown", current, reason: `the stream has no ${arch}` };
  if (listMarketplaceImages(stream, arch).length === 0) {
    // Without marketplace images the stream only has the VHD, which must be uploaded first.
    const vhd = listImages(stream, { architecture: arch }).find((i) => i.platform === "azure-disk")?.url;
    return {
      status: "unknown",
      current,
      ...(vhd && legacy ? { wanted: vhd } : {}),
      reason: vhd
        ? `the stream has no Azure marketplace images for ${arch}, only the azure-disk VHD to upload into an image gallery`
        : `the stream has no Azure images for ${arch}`,
    };
  }
  const generation = gen2 ? "hyperVGen2" : "hyperVGen1";
  const target = findMarketplaceImage(stream, { architecture: arch, plan: variant, generation });
  if (target === undefined)
    return {
      status: "unknown",
      current,
      reason: `the stream has no ${variant} ${generation} marketplace image for ${arch}`,
    };
  const wantedImage: Json = {
    publisher: target.publisher,
    offer: target.offer,
    sku: target.sku,
    version: target.version,
    resourceID: "",
    type: variant === "no-purchase-plan" ? "MarketplaceNoPlan" : "MarketplaceWithPlan",
  };
  const wanted = azureImageName(wantedImage);
  const differs = IMAGE_FIELDS.filter((k) => text(image, k) !== wantedImage[k]);
  const what = `the stream's ${arch} ${variant} ${generation} marketplace image`;
  if (differs.length === 0) return { status: "current", current, wanted, reason: what };
  // The whole image as the operator writes it, in the MachineSet's key order (sorted, as `oc`
  // prints it, when it was sorted: a new `type` key then lands in its place).
  const merged: Json = { ...image, ...wantedImage };
  const keys = Object.keys(image);
  const sorted = keys.every((k, i) => i === 0 || (keys[i - 1] as string) <= k);
  const to = sorted
    ? Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : 1)))
    : merged;
  return {
    status: "stale",
    current,
    wanted,
    reason: `${what} is ${wanted}`,
    ...(legacy
      ? {
          notes: [
            "moves from the image uploaded at install time to the unpaid marketplace image, as the operator does",
          ],
        }
      : {}),
    change: { path: ["image"], from: image, to },
  };
}
