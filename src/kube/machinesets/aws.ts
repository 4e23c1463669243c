/**
 * AWS: `ami.id` of an AWSMachineProviderConfig against the stream's AMI for
 * `placement.region`, as reconcileAWSProviderSpec does (openshift/machine-config-operator
 * pkg/controller/machine-set-boot-image/platform_helpers.go). The operator replaces only
 * AMIs on its AllowedAMIs list (ami.go: every AMI the installer has shipped); the streams
 * given as `previous` stand in for that history here.
 */
import { listImages } from "../../query/index.ts";
import { describeValue, isPlainObject } from "../../schema/documents.ts";
import type { Stream } from "../../schema/stream.ts";
import { dig, type ImageVerdict, type PlatformCheckOptions } from "./types.ts";

/**
 * The stream's AWS AMIs: by architecture and region, and where each AMI is ("aarch64 us-east-1",
 * to say what an AMI that is not the wanted one is). Worked out once per stream, not per MachineSet.
 */
interface AwsImages {
  regions: Map<string, Map<string, string>>;
  places: Map<string, string>;
}

const awsImagesCache = new WeakMap<Stream, AwsImages>();

function awsImages(stream: Stream): AwsImages {
  let found = awsImagesCache.get(stream);
  if (found !== undefined) return found;
  found = { regions: new Map(), places: new Map() };
  for (const arch of Object.keys(stream.architectures)) {
    const regions = new Map<string, string>();
    for (const image of listImages(stream, { architecture: arch })) {
      if (image.platform !== "aws" || image.region === undefined || image.image === undefined) continue;
      regions.set(image.region, image.image);
      found.places.set(image.image, `${arch} ${image.region}`);
    }
    found.regions.set(arch, regions);
  }
  awsImagesCache.set(stream, found);
  return found;
}

/** Every AWS AMI of the streams (any architecture, any region): the RHCOS boot images they have shipped. */
export function streamAmis(streams: readonly Stream[]): Set<string> {
  const amis = new Set<string>();
  for (const stream of streams) for (const ami of awsImages(stream).places.keys()) amis.add(ami);
  return amis;
}

export function checkAws(
  value: unknown,
  stream: Stream,
  arch: string,
  options: PlatformCheckOptions = {},
): ImageVerdict {
  const region = dig(value, "placement", "region");
  const ami = dig(value, "ami");
  const id = dig(ami, "id");
  const current = typeof id === "string" ? id : undefined;
  if (typeof region !== "string" || region === "")
    return {
      status: "unknown",
      ...(current ? { current } : {}),
      reason: `placement.region is ${describeValue(region)}`,
    };
  const { regions: byArch, places } = awsImages(stream);
  const regions = Object.hasOwn(stream.architectures, arch) ? byArch.get(arch) : undefined;
  if (regions === undefined)
    return { status: "unknown", ...(current ? { current } : {}), reason: `the stream has no ${arch}` };
  const wanted = regions.get(region);
  if (wanted === undefined)
    return {
      status: "unknown",
      ...(current ? { current } : {}),
      reason: `the stream has no ${arch} AMI for region ${region}`,
    };
  if (current === undefined) {
    // The installer names a copied (e.g. encrypted) AMI by tag filter; the operator skips these.
    const how =
      isPlainObject(ami) && (ami.filters !== undefined || ami.arn !== undefined) ? "filters or an ARN" : null;
    return {
      status: "unknown",
      wanted,
      reason: how
        ? `the AMI is given by ${how}, not by id (an AMI copied at install time); the operator leaves it alone`
        : `ami.id is ${describeValue(id)}`,
    };
  }
  if (current === wanted)
    return { status: "current", current, wanted, reason: `the stream's ${arch} AMI for ${region}` };
  const place = places.get(current);
  const known = options.knownAmis;
  let notes: string[];
  if (place !== undefined) notes = [`${current} is the stream's AMI for ${place}, not for ${arch} ${region}`];
  else if (known?.has(current)) notes = [`${current} is an AMI of a previous stream`];
  else if (known === undefined)
    notes = [
      `${current} is not in this stream: the operator replaces only AMIs the installer has shipped (its AllowedAMIs list), so make sure it is not a custom AMI (--previous STREAM tells them apart)`,
    ];
  else
    return {
      status: "unknown",
      current,
      wanted,
      reason: `${current} is not an AMI of this stream or the previous ones: a custom AMI, which the operator leaves alone`,
    };
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
