/**
 * The tables docs carry about a stream: AMIs per region, the other cloud images, and the
 * artifacts, one table per (architecture, kind). Every format (AsciiDoc, Markdown, HTML,
 * CSV, JSON) writes these same rows, and `--check` compares a document's tables with them,
 * so the model is the one place that decides what a table holds and what it is called.
 */
import { compareKeys } from "../canonical/layout.ts";
import { type CloudImage, findArtifacts, getArchitecture, listImages } from "../query/index.ts";
import { listMarketplaceImages } from "../query/marketplace.ts";
import type { Stream } from "../schema/stream.ts";

/** Table kinds, in the order tables are written. */
export const TABLE_KINDS = [
  "amis",
  "aliyun",
  "aws-winli",
  "azure",
  "gcp",
  "ibmcloud",
  "kubevirt",
  "powervs",
  "artifacts",
] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

/** What `--what` selects. `amis` is the AWS UPI table alone; `images` every other cloud image. */
export const RENDER_SELECTIONS = {
  amis: ["amis"],
  images: ["aliyun", "aws-winli", "azure", "gcp", "ibmcloud", "kubevirt", "powervs"],
  artifacts: ["artifacts"],
  all: TABLE_KINDS,
} as const satisfies Record<string, readonly TableKind[]>;
export type RenderWhat = keyof typeof RENDER_SELECTIONS;

export interface TableSpec {
  /** The caption after `<arch> <os name> `: `.x86_64 {op-system} AMIs`. */
  title: string;
  /** Header cells. */
  columns: readonly string[];
  /** How many leading cells name a row (the region, the platform and format, ...). */
  keyColumns: number;
  /** AsciiDoc `cols` attribute. */
  cols: string;
}

const REGIONAL_OBJECT_COLUMNS = ["Object", "Bucket", "URL"];

export const TABLE_SPECS: Record<TableKind, TableSpec> = {
  // The layout of openshift/openshift-docs modules/installation-aws-user-infra-rhcos-ami.adoc
  // (commit 049d603624d7710492b1291a77c5b63d23e8d897): `.x86_64 {op-system} AMIs`, `.aarch64 ...`.
  amis: { title: "AMIs", columns: ["AWS zone", "AWS AMI"], keyColumns: 1, cols: "2a,2a" },
  aliyun: {
    title: "Alibaba Cloud images",
    columns: ["Alibaba Cloud region", "Alibaba Cloud image"],
    keyColumns: 1,
    cols: "2a,2a",
  },
  "aws-winli": {
    title: "AWS Windows License Included AMIs",
    columns: ["AWS zone", "AWS AMI"],
    keyColumns: 1,
    cols: "2a,2a",
  },
  azure: { title: "Azure images", columns: ["Azure image", "Value"], keyColumns: 1, cols: "2a,4a" },
  gcp: { title: "GCP image", columns: ["GCP image", "Value"], keyColumns: 1, cols: "2a,4a" },
  ibmcloud: {
    title: "IBM Cloud images",
    columns: ["IBM Cloud region", ...REGIONAL_OBJECT_COLUMNS],
    keyColumns: 1,
    cols: "1a,2a,1a,3a",
  },
  kubevirt: { title: "KubeVirt image", columns: ["KubeVirt image", "Value"], keyColumns: 1, cols: "2a,4a" },
  powervs: {
    title: "PowerVS images",
    columns: ["PowerVS region", ...REGIONAL_OBJECT_COLUMNS],
    keyColumns: 1,
    cols: "1a,2a,1a,3a",
  },
  artifacts: {
    title: "artifacts",
    columns: ["Platform", "Format", "File", "SHA256", "Signature"],
    keyColumns: 2,
    cols: "1a,1a,3a,3a,3a",
  },
};

/** The name captions use for the OS when none is given: the attribute OpenShift's docs define. */
export const ASCIIDOC_OS_NAME = "{op-system}";

export interface RenderedTable {
  architecture: string;
  table: TableKind;
  /** Caption without markup: `x86_64 {op-system} AMIs`. */
  caption: string;
  columns: readonly string[];
  keyColumns: number;
  /** Cells as plain values (no markup), sorted by key. */
  rows: string[][];
}

export interface TableSelection {
  /** Architectures in the order wanted; default: every one in the stream, sorted. */
  architectures?: readonly string[];
  /** Table kinds; default: all. */
  tables?: readonly TableKind[];
  /** The OS name in captions; default {op-system}. */
  osName?: string;
}

export function captionOf(architecture: string, table: TableKind, osName: string = ASCIIDOC_OS_NAME): string {
  return `${architecture} ${osName} ${TABLE_SPECS[table].title}`;
}

/** Every table the selection asks for that the stream has rows for. */
export function streamTables(stream: Stream, selection: TableSelection = {}): RenderedTable[] {
  const architectures = selection.architectures ?? Object.keys(stream.architectures).sort();
  const kinds = new Set(selection.tables ?? TABLE_KINDS);
  // Unknown architectures are an error before anything is written, naming what exists.
  for (const architecture of architectures) getArchitecture(stream, architecture);
  const out: RenderedTable[] = [];
  for (const table of TABLE_KINDS) {
    if (!kinds.has(table)) continue;
    for (const architecture of architectures) {
      const rows = tableRows(stream, architecture, table);
      if (rows.length === 0) continue;
      out.push({
        architecture,
        table,
        caption: captionOf(architecture, table, selection.osName),
        columns: TABLE_SPECS[table].columns,
        keyColumns: TABLE_SPECS[table].keyColumns,
        rows,
      });
    }
  }
  return out;
}

/** The rows of one table; none when the stream has nothing of that kind for the architecture. */
export function tableRows(stream: Stream, architecture: string, table: TableKind): string[][] {
  if (table === "artifacts") {
    return findArtifacts(stream, { architecture }).map((ref) => [
      ref.platform,
      ref.kind === "disk" ? ref.format : `${ref.format} ${ref.kind}`,
      ref.artifact.location,
      ref.artifact.sha256,
      ref.artifact.signature ?? "",
    ]);
  }
  const images = listImages(stream, { architecture }).filter((i) => i.platform === imagePlatform(table));
  switch (table) {
    case "amis":
    case "aws-winli":
    case "aliyun":
      return sortedByKey(images.map((i) => [i.region ?? "", i.image ?? ""]));
    case "ibmcloud":
    case "powervs":
      return sortedByKey(images.map((i) => [i.region ?? "", i.object ?? "", i.bucket ?? "", i.url ?? ""]));
    case "gcp":
      return fieldRows(images[0], ["project", "family", "name"]);
    case "kubevirt":
      return fieldRows(images[0], ["image", "digest-ref"]);
    case "azure": {
      const url = images[0]?.url;
      const disk = url === undefined || url === "" ? [] : [["azure-disk", url]];
      // Marketplace images per plan and generation, as the URN `az vm create --image` takes.
      const marketplace = listMarketplaceImages(stream, architecture);
      return [...disk, ...marketplace.map((i) => [`${i.plan} ${i.generation}`, i.urn])];
    }
  }
}

function imagePlatform(table: Exclude<TableKind, "artifacts">): string {
  switch (table) {
    case "amis":
      return "aws";
    case "azure":
      return "azure-disk";
    default:
      return table;
  }
}

/** Rows in Go's byte order of their key, as stream-metadata-go and `sort` in the C locale order region names. */
function sortedByKey(rows: string[][]): string[][] {
  return rows.sort((a, b) => compareKeys(a[0] ?? "", b[0] ?? ""));
}

/** `[field, value]` rows of an image's non-empty fields (older RHCOS wrote an empty GCP project). */
function fieldRows(image: CloudImage | undefined, fields: readonly (keyof CloudImage)[]): string[][] {
  if (image === undefined) return [];
  return fields.flatMap((field) => {
    const value = image[field];
    return typeof value === "string" && value !== "" ? [[field, value]] : [];
  });
}
