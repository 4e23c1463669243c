/**
 * AWS: `ami.id` of an AWSMachineProviderConfig against the stream's AMI for
 * `placement.region`, as reconcileAWSProviderSpec does (openshift/machine-config-operator
 * pkg/controller/machine-set-boot-image/platform_helpers.go).
 */
import type { Stream } from "../../schema/stream.ts";
import { describe, dig, type ImageVerdict, isRecord } from "./types.ts";

/** Where each AMI of the stream is, to say what an AMI that is not the wanted one is. */
function amiPlaces(stream: Stream): Map<string, string> {
  const places = new Map<string, string>();
  for (const [arch, entry] of Object.entries(stream.architectures)) {
    for (const [region, image] of Object.entries(entry.images?.aws?.regions ?? {}))
      places.set(image.image, `${arch} ${region}`);
  }
  return places;
}

export function checkAws(value: unknown, stream: Stream, arch: string): ImageVerdict {
  const region = dig(value, "placement", "region");
  const ami = dig(value, "ami");
  const id = dig(ami, "id");
  const current = typeof id === "string" ? id : undefined;
  if (typeof region !== "string" || region === "")
    return {
      status: "unknown",
      ...(current ? { current } : {}),
      reason: `placement.region is ${describe(region)}`,
    };
  const streamArch = Object.hasOwn(stream.architectures, arch) ? stream.architectures[arch] : undefined;
  if (streamArch === undefined)
    return { status: "unknown", ...(current ? { current } : {}), reason: `the stream has no ${arch}` };
  const regions = streamArch.images?.aws?.regions ?? {};
  const wanted = Object.hasOwn(regions, region) ? regions[region]?.image : undefined;
  if (wanted === undefined)
    return {
      status: "unknown",
      ...(current ? { current } : {}),
      reason: `the stream has no ${arch} AMI for region ${region}`,
    };
  if (current === undefined) {
    // The installer names a copied (e.g. encrypted) AMI by tag filter; the operator skips these.
    const how =
      isRecord(ami) && (ami.filters !== undefined || ami.arn !== undefined) ? "filters or an ARN" : null;
    return {
      status: "unknown",
      wanted,
      reason: how
        ? `the AMI is given by ${how}, not by id (an AMI copied at install time); the operator leaves it alone`
        : `ami.id is ${describe(id)}`,
    };
  }
  if (current === wanted)
    return { status: "current", current, wanted, reason: `the stream's ${arch} AMI for ${region}` };
  const place = amiPlaces(stream).get(current);
  const notes = place
    ? [`${current} is the stream's AMI for ${place}, not for ${arch} ${region}`]
    : [
        `${current} is not in this stream: the operator replaces only AMIs the installer has shipped (its AllowedAMIs list), so make sure it is not a custom AMI`,
      ];
  return {
    status: "stale",
    current,
    wanted,
    reason: `the stream's ${arch} AMI for ${region} is ${wanted}`,
    notes,
    // Only one of id, arn and filters may be set: the operator writes an AMI with the id alone.
    change: { path: ["ami"], from: ami, to: { id: wanted } },
  };
}
