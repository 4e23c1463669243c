/**
 * The in-cluster ConfigMap that carries a stream (openshift-machine-config-operator/
 * coreos-bootimages): `data.stream` is the stream JSON as one string, `data.releaseVersion`
 * the release it belongs to (a placeholder that release tooling replaces). The stream text
 * goes in as a YAML literal block, so extracting gives the same bytes back.
 */
import { Document } from "yaml";
import { BootstreamError } from "../errors.ts";
import { describeValue, isPlainObject } from "../schema/documents.ts";
import { parseDocumentAs } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { parseKubeObjects } from "./objects.ts";

/** Kubernetes refuses ConfigMaps over 1 MiB. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
export const PLACEHOLDER_RELEASE_VERSION = "0.0.1-snapshot";

/** The cluster profiles the real stub (cgwalters/rhel-coreos-bootimages) includes it in. */
export const DEFAULT_ANNOTATIONS: Readonly<Record<string, string>> = {
  "include.release.openshift.io/ibm-cloud-managed": "true",
  "include.release.openshift.io/self-managed-high-availability": "true",
  "include.release.openshift.io/single-node-developer": "true",
};

export interface ConfigMapOptions {
  name?: string;
  namespace?: string;
  releaseVersion?: string;
  annotations?: Readonly<Record<string, string>>;
}

/** The ConfigMap YAML for a stream's (canonical) JSON text. */
export function streamConfigMap(streamJson: string, options: ConfigMapOptions = {}): string {
  const value = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: options.name ?? "coreos-bootimages",
      namespace: options.namespace ?? "openshift-machine-config-operator",
      annotations: { ...(options.annotations ?? DEFAULT_ANNOTATIONS) },
    },
    data: {
      releaseVersion: options.releaseVersion ?? PLACEHOLDER_RELEASE_VERSION,
      stream: streamJson,
    },
  };
  const yaml = new Document(value).toString({ blockQuote: "literal", lineWidth: 0 });
  const size = Buffer.byteLength(yaml);
  if (size > CONFIGMAP_MAX_BYTES) {
    throw new BootstreamError(
      "TOO_LARGE",
      `the ConfigMap would be ${size} bytes; Kubernetes allows at most ${CONFIGMAP_MAX_BYTES} (1 MiB)`,
    );
  }
  return yaml;
}

export interface ParsedConfigMap {
  name: string;
  namespace: string;
  releaseVersion: string | undefined;
  /** The stream JSON exactly as stored. */
  stream: string;
}

const stringAt = (value: unknown, ...keys: string[]): unknown => {
  let at = value;
  for (const key of keys) at = isPlainObject(at) && Object.hasOwn(at, key) ? at[key] : undefined;
  return at;
};
const textAt = (value: unknown, ...keys: string[]): string => {
  const at = stringAt(value, ...keys);
  return typeof at === "string" ? at : "";
};

/**
 * The one ConfigMap of `text` (YAML or JSON, as `oc get configmap ... -o yaml|json` prints it,
 * alone or in a List) and the stream it carries. Read as kubectl reads it (YAML 1.1, capped
 * before a tree is built; see kube/objects.ts). Every message names `file`: INVALID_DOCUMENT
 * for none or several ConfigMaps or no `data.stream` string; TOO_LARGE for a stream over the
 * 1 MiB Kubernetes lets a ConfigMap hold (no cluster carries it).
 */
export function parseStreamConfigMap(text: string, file = "the ConfigMap"): ParsedConfigMap {
  const { objects } = parseKubeObjects(text, file);
  const configMaps = objects.filter((o) => o.kind === "ConfigMap");
  const only = configMaps[0];
  if (only === undefined || configMaps.length > 1) {
    const found =
      only === undefined
        ? `none (kinds: ${[...new Set(objects.map((o) => o.kind || "(no kind)"))].join(", ") || "no objects"})`
        : `${configMaps.length}: ${configMaps.map((o) => textAt(o.value, "metadata", "name") || "(no name)").join(", ")}`;
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${file}: expected one ConfigMap (kind: ConfigMap), found ${found}`,
      {
        path: "/kind",
      },
    );
  }
  // Where it is, when it is not the whole file: "/items/0", "document 2".
  const where = only.where === "/" ? "" : `${only.where}: `;
  const stream = stringAt(only.value, "data", "stream");
  if (typeof stream !== "string")
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${file}: ${where}the ConfigMap has no data.stream string (found ${describeValue(stream)})`,
      { path: "/data/stream" },
    );
  const size = Buffer.byteLength(stream);
  if (size > CONFIGMAP_MAX_BYTES)
    throw new BootstreamError(
      "TOO_LARGE",
      `${file}: ${where}data.stream is ${size} bytes, more than the 1 MiB a ConfigMap may hold: Kubernetes refuses it, so no cluster carries it`,
      { path: "/data/stream" },
    );
  const releaseVersion = stringAt(only.value, "data", "releaseVersion");
  return {
    name: textAt(only.value, "metadata", "name"),
    namespace: textAt(only.value, "metadata", "namespace"),
    releaseVersion: typeof releaseVersion === "string" ? releaseVersion : undefined,
    stream,
  };
}

export interface ConfigMapStream {
  /** metadata.name and metadata.namespace of the ConfigMap ("" when absent). */
  name: string;
  namespace: string;
  stream: Stream;
}

/**
 * The valid stream a ConfigMap file carries. Stream errors name the file and `data.stream`: a
 * pointer such as `/architectures` alone would read as a place in the ConfigMap.
 */
export function streamFromConfigMap(text: string, file: string): ConfigMapStream {
  const parsed = parseStreamConfigMap(text, file);
  const stream = parseDocumentAs("stream", parsed.stream, { name: `${file}: data.stream` }).data;
  return { name: parsed.name, namespace: parsed.namespace, stream };
}
