/**
 * The architecture of a MachineSet, as the machine-config operator works it out
 * (openshift/machine-config-operator pkg/controller/machine-set-boot-image/helpers.go,
 * getArchFromMachineSet): the `kubernetes.io/arch=` label inside the cluster autoscaler's
 * capacity annotation, a comma separated list of labels; without the annotation, a default.
 */
import { BootstreamError } from "../../errors.ts";
import type { Stream } from "../../schema/stream.ts";
import { quoted } from "../../schema/text.ts";
import { dig } from "./types.ts";

export const ARCH_ANNOTATION = "capacity.cluster-autoscaler.kubernetes.io/labels";
const ARCH_LABEL = "kubernetes.io/arch=";

/** Kubernetes (GOARCH) names to the RPM names streams use (stream-metadata-go arch.RpmArch). */
const RPM_ARCH: Readonly<Record<string, string>> = {
  amd64: "x86_64",
  arm64: "aarch64",
  ppc64le: "ppc64le",
  s390x: "s390x",
};

export type ArchResult =
  | { arch: string; from: "annotation" | "default" }
  | { arch?: undefined; error: string };

export function machineSetArch(machineSet: unknown, defaultArch: string): ArchResult {
  const labels = dig(machineSet, "metadata", "annotations", ARCH_ANNOTATION);
  // `--default-arch amd64` means what the annotation's amd64 means.
  if (labels === undefined)
    return {
      arch: (Object.hasOwn(RPM_ARCH, defaultArch) && RPM_ARCH[defaultArch]) || defaultArch,
      from: "default",
    };
  if (typeof labels !== "string") return { error: `annotation ${ARCH_ANNOTATION} is not a string` };
  for (const label of labels.split(",")) {
    const trimmed = label.trim();
    if (!trimmed.startsWith(ARCH_LABEL)) continue;
    const value = trimmed.slice(ARCH_LABEL.length);
    const arch = Object.hasOwn(RPM_ARCH, value) ? RPM_ARCH[value] : undefined;
    if (arch === undefined)
      return { error: `annotation ${ARCH_ANNOTATION} has an unknown architecture ${JSON.stringify(value)}` };
    return { arch, from: "annotation" };
  }
  return { error: `annotation ${ARCH_ANNOTATION} has no ${ARCH_LABEL} label` };
}

/**
 * The RPM name of a default architecture given as a Kubernetes name (amd64, arm64, ...), an
 * RPM name (x86_64, aarch64, ...) or any architecture of the stream; USAGE for anything else,
 * which would otherwise turn every MachineSet without the annotation into "unknown".
 */
export function resolveDefaultArch(name: string, stream: Stream): string {
  if (Object.hasOwn(RPM_ARCH, name)) return RPM_ARCH[name] as string;
  const rpm = Object.values(RPM_ARCH);
  if (rpm.includes(name) || Object.hasOwn(stream.architectures, name)) return name;
  const accepted = [
    ...new Set([...Object.keys(RPM_ARCH), ...rpm, ...Object.keys(stream.architectures).sort()]),
  ];
  throw new BootstreamError(
    "USAGE",
    `--default-arch ${quoted(name)}: expected a Kubernetes or RPM architecture name or one of the stream's: ${accepted.join(", ")}`,
  );
}
