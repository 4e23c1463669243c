/**
 * Which platform a MachineSet is on, from its providerSpec kind, and the check for it. The
 * managed boot images controller updates AWS, GCP, Azure and vSphere; of these, stream
 * metadata names the boot image itself for the first three. Everything else boots an
 * image that lives in the cluster's own account, vCenter or image service.
 */
import type { Stream } from "../../schema/stream.ts";
import { checkAws } from "./aws.ts";
import { checkAzure } from "./azure.ts";
import { checkGcp } from "./gcp.ts";
import { dig, type ImageVerdict, type PlatformCheckOptions } from "./types.ts";

type Check = (value: unknown, stream: Stream, arch: string, options: PlatformCheckOptions) => ImageVerdict;

interface Platform {
  name: string;
  check?: Check;
  /** Why stream metadata cannot say which image this platform should boot. */
  unmanaged?: string;
}

const UPLOADED =
  "boots an image uploaded to the cluster's account at install time, which stream metadata does not name";

/** providerSpec.value.kind -> platform (openshift/api machine/v1beta1, v1alpha1 and v1). */
const PLATFORMS: Readonly<Record<string, Platform>> = {
  AWSMachineProviderConfig: { name: "aws", check: checkAws },
  GCPMachineProviderSpec: { name: "gcp", check: checkGcp },
  AzureMachineProviderSpec: { name: "azure", check: checkAzure },
  VSphereMachineProviderSpec: {
    name: "vsphere",
    unmanaged:
      "boots a VM template in vCenter; the operator imports the stream's vmware OVA as a new template itself, which no patch can do",
  },
  OpenstackProviderSpec: {
    name: "openstack",
    unmanaged:
      "boots a Glance image uploaded at install time; the stream names the openstack qcow2, not an image in the cloud",
  },
  BareMetalMachineProviderSpec: {
    name: "baremetal",
    unmanaged:
      "bare-metal hosts are provisioned by metal3/Ironic from the cluster's image cache, not from the MachineSet",
  },
  NutanixMachineProviderConfig: { name: "nutanix", unmanaged: UPLOADED },
  PowerVSMachineProviderConfig: { name: "powervs", unmanaged: UPLOADED },
  IBMCloudMachineProviderSpec: { name: "ibmcloud", unmanaged: UPLOADED },
  OvirtMachineProviderSpec: { name: "ovirt", unmanaged: UPLOADED },
  AlibabaCloudMachineProviderConfig: { name: "alibabacloud", unmanaged: UPLOADED },
};

export interface PlatformVerdict extends ImageVerdict {
  platform: string;
}

/** The platform name and verdict of a MachineSet's providerSpec value for `arch`. */
export function checkProviderSpec(
  value: unknown,
  stream: Stream,
  arch: string | undefined,
  archError: string | undefined,
  options: PlatformCheckOptions = {},
): PlatformVerdict {
  const kind = dig(value, "kind");
  const platform = typeof kind === "string" && Object.hasOwn(PLATFORMS, kind) ? PLATFORMS[kind] : undefined;
  if (platform === undefined) {
    const name = typeof kind === "string" ? kind : "";
    return {
      platform: name || "unknown",
      status: typeof kind === "string" ? "not-managed" : "unknown",
      reason:
        typeof kind === "string"
          ? `providerSpec kind ${JSON.stringify(kind)} is not one stream metadata has boot images for`
          : "spec.template.spec.providerSpec.value.kind is missing",
    };
  }
  if (platform.check === undefined) {
    // What it boots, where that is one string: a vSphere template, an OpenStack image name.
    const named = dig(value, platform.name === "vsphere" ? "template" : "image");
    return {
      platform: platform.name,
      status: "not-managed",
      ...(typeof named === "string" && named !== "" ? { current: named } : {}),
      reason: platform.unmanaged ?? "",
    };
  }
  if (arch === undefined)
    return { platform: platform.name, status: "unknown", reason: archError ?? "no architecture" };
  return { platform: platform.name, ...platform.check(value, stream, arch, options) };
}
