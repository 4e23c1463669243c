/**
 * The in-cluster ConfigMap that carries a stream (openshift-machine-config-operator/
 * coreos-bootimages): `data.stream` is the stream JSON as one string, `data.releaseVersion`
 * the release it belongs to (a placeholder that release tooling replaces). The stream text
 * goes in as a YAML literal block, so extracting gives the same bytes back.
 */
import { Document, parse as parseYaml } from "yaml";
import { BootstreamError } from "../errors.ts";

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

/** Reads a stream ConfigMap (YAML or JSON). */
export function parseStreamConfigMap(text: string): ParsedConfigMap {
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: false });
  } catch (cause) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `not a YAML or JSON ConfigMap: ${(cause as Error).message.split("\n")[0]}`,
      { cause },
    );
  }
  const doc = value as {
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
    data?: Record<string, unknown>;
  } | null;
  if (doc === null || typeof doc !== "object" || doc.kind !== "ConfigMap") {
    throw new BootstreamError("INVALID_DOCUMENT", "expected a ConfigMap (kind: ConfigMap)", {
      path: "/kind",
    });
  }
  const stream = doc.data?.stream;
  if (typeof stream !== "string") {
    throw new BootstreamError("INVALID_DOCUMENT", "the ConfigMap has no data.stream string", {
      path: "/data/stream",
    });
  }
  const releaseVersion = doc.data?.releaseVersion;
  return {
    name: String(doc.metadata?.name ?? ""),
    namespace: String(doc.metadata?.namespace ?? ""),
    releaseVersion: typeof releaseVersion === "string" ? releaseVersion : undefined,
    stream,
  };
}
