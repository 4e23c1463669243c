/**
 * GCP: the image of each boot disk of a GCPMachineProviderSpec against
 * `projects/<project>/global/images/<name>` of the stream, the spelling the installer
 * writes and reconcileGCPProviderSpec compares (openshift/machine-config-operator
 * pkg/controller/machine-set-boot-image/platform_helpers.go).
 */
import { listImages } from "../../query/index.ts";
import { describeValue, isPlainObject } from "../../schema/documents.ts";
import type { Stream } from "../../schema/stream.ts";
import { dig, type ImageVerdict } from "./types.ts";

export function gcpImagePath(project: string, name: string): string {
  return `projects/${project}/global/images/${name}`;
}

export function checkGcp(value: unknown, stream: Stream, arch: string): ImageVerdict {
  const disks = dig(value, "disks");
  if (!Array.isArray(disks)) return { status: "unknown", reason: `disks is ${describeValue(disks)}` };
  const boot = disks.filter((d) => isPlainObject(d) && d.boot === true);
  const first = boot[0];
  const firstImage = isPlainObject(first) && typeof first.image === "string" ? first.image : undefined;
  const current = firstImage === undefined ? {} : { current: firstImage };
  if (first === undefined) return { status: "unknown", reason: "no disk has boot: true" };
  const gcp = Object.hasOwn(stream.architectures, arch)
    ? listImages(stream, { architecture: arch }).find((i) => i.platform === "gcp")
    : undefined;
  if (gcp?.project === undefined || gcp.project === "" || gcp.name === undefined)
    return {
      status: "unknown",
      ...current,
      reason: `the stream has no GCP image (with a project) for ${arch}`,
    };
  const wanted = gcpImagePath(gcp.project, gcp.name);
  const prefix = gcpImagePath(gcp.project, "");
  for (const disk of boot) {
    const image = (disk as Record<string, unknown>).image;
    if (typeof image !== "string")
      return {
        status: "unknown",
        ...current,
        wanted,
        reason: `a boot disk's image is ${describeValue(image)}`,
      };
    // As the operator: an image from another project is a custom boot image, left alone.
    if (image !== wanted && !image.startsWith(prefix))
      return {
        status: "unknown",
        ...current,
        wanted,
        reason: `${image} is not from project ${gcp.project}: a custom boot image, which the operator leaves alone`,
      };
  }
  if (boot.every((d) => (d as Record<string, unknown>).image === wanted))
    return { status: "current", ...current, wanted, reason: `the stream's ${arch} GCP image` };
  // A merge patch replaces arrays whole: the new disks are the old ones with only boot images changed.
  const to = disks.map((d) => (isPlainObject(d) && d.boot === true ? { ...d, image: wanted } : d));
  return {
    status: "stale",
    ...current,
    wanted,
    reason: `the stream's ${arch} GCP image is ${gcp.name}`,
    change: { path: ["disks"], from: disks, to },
  };
}
