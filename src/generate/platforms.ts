/**
 * The platforms stream-metadata-go models in `release.Media` (formats.md section 3). Release
 * generation and translation carry only these, as upstream does: a platform outside the list
 * needs a new upstream struct field before clients can read it.
 */
export const KNOWN_PLATFORMS = [
  "aliyun",
  "applehv",
  "aws",
  "azure",
  "azurestack",
  "digitalocean",
  "exoscale",
  "gcp",
  "hetzner",
  "hyperv",
  "ibmcloud",
  "kubevirt",
  "metal",
  "nutanix",
  "nvidiabluefield",
  "openstack",
  "oraclecloud",
  "powervs",
  "proxmoxve",
  "qemu",
  "qemu-secex",
  "virtualbox",
  "vmware",
  "vultr",
] as const;

export function isKnownPlatform(name: string): boolean {
  return (KNOWN_PLATFORMS as readonly string[]).includes(name);
}
