/**
 * The stream a `--configmap FILE` carries: the coreos-bootimages ConfigMap as
 * `oc get configmap -n openshift-machine-config-operator coreos-bootimages -o yaml|json`
 * prints it (or a List holding it). The file is read like the MachineSets (YAML 1.1, capped
 * before a tree is built), and every error names the file and `data.stream`: a pointer such
 * as `/architectures` alone would read as a place in the ConfigMap, not in the stream inside it.
 */
import { BootstreamError } from "../../errors.ts";
import { describeValue } from "../../schema/documents.ts";
import { parseDocumentAs } from "../../schema/parse.ts";
import type { Stream } from "../../schema/stream.ts";
import { CONFIGMAP_MAX_BYTES } from "../configmap.ts";
import { parseKubeObjects } from "./documents.ts";
import { dig } from "./types.ts";

export interface ConfigMapStream {
  /** metadata.name and metadata.namespace of the ConfigMap ("" when absent). */
  name: string;
  namespace: string;
  stream: Stream;
}

const stringOf = (value: unknown) => (typeof value === "string" ? value : "");

/**
 * The one ConfigMap of `text` (read from `file`) and its valid `data.stream`. INVALID_DOCUMENT
 * for none or several ConfigMaps, or a stream that is not valid; TOO_LARGE for a stream over
 * the 1 MiB Kubernetes lets a ConfigMap hold (no cluster carried it).
 */
export function streamFromConfigMap(text: string, file: string): ConfigMapStream {
  const { objects } = parseKubeObjects(text, file);
  const configMaps = objects.filter((o) => o.kind === "ConfigMap");
  const only = configMaps[0];
  if (only === undefined || configMaps.length > 1) {
    const found =
      only === undefined
        ? `none (kinds: ${[...new Set(objects.map((o) => o.kind || "(no kind)"))].join(", ") || "no objects"})`
        : `${configMaps.length}: ${configMaps.map((o) => stringOf(dig(o.value, "metadata", "name")) || "(no name)").join(", ")}`;
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${file}: expected one ConfigMap (coreos-bootimages), found ${found}`,
      {
        path: file,
      },
    );
  }
  // Where it is, when it is not the whole file: "/items/0", "document 2".
  const where = only.where === "/" ? "" : `${only.where}: `;
  const json = dig(only.value, "data", "stream");
  if (typeof json !== "string")
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${file}: ${where}data.stream: expected the stream JSON as a string, found ${describeValue(json)}`,
      { path: "/data/stream" },
    );
  const size = Buffer.byteLength(json);
  if (size > CONFIGMAP_MAX_BYTES)
    throw new BootstreamError(
      "TOO_LARGE",
      `${file}: ${where}data.stream is ${size} bytes, more than the 1 MiB a ConfigMap may hold: Kubernetes refuses it, so no cluster carries it`,
      { path: "/data/stream" },
    );
  const stream = parseDocumentAs("stream", json, { name: `${file}: ${where}data.stream` }).data;
  return {
    name: stringOf(dig(only.value, "metadata", "name")),
    namespace: stringOf(dig(only.value, "metadata", "namespace")),
    stream,
  };
}
