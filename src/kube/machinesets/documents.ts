/**
 * Kubernetes objects as `oc get ... -o yaml|json` prints them: one `kind: List` with `items`,
 * several YAML documents, or JSON. Every document is kept as a `yaml` Document, so a rewrite
 * can touch only the bytes of the fields it changes (see rewrite.ts).
 */
import { type Document, isMap, isSeq, parseAllDocuments } from "yaml";
import { BootstreamError, toPointer } from "../../errors.ts";

/** Aliases have no place in `oc` output; a few are tolerated, a "billion laughs" is not. */
const MAX_ALIAS_COUNT = 16;

export type KubeFormat = "json" | "yaml";

export interface KubeObject {
  /** The object as plain data. */
  value: Record<string, unknown>;
  kind: string;
  /** Which document of the input holds it (0-based). */
  document: number;
  /** Its path inside that document: [] for a top-level object, ["items", 3] in a List. */
  path: (string | number)[];
  /** Where it is, for messages: "/items/3", or "document 2" for the second YAML document. */
  where: string;
}

export interface KubeObjects {
  format: KubeFormat;
  /** The input text, exactly as read. */
  text: string;
  documents: Document.Parsed[];
  objects: KubeObject[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON input is written back as JSON, YAML as YAML. */
export function detectFormat(text: string): KubeFormat {
  return /^\s*[{[]/.test(text) ? "json" : "yaml";
}

function whereOf(documentCount: number, document: number, path: (string | number)[]): string {
  const pointer = toPointer(path);
  if (documentCount <= 1) return pointer || "/";
  return `document ${document + 1}${pointer}`;
}

/** Parses every document of `text`; `name` (a file name or "-") is named in errors. */
export function parseKubeObjects(text: string, name: string): KubeObjects {
  // Aliases are counted when the documents become values (toJS), below. Merge keys (`<<: *base`)
  // are YAML 1.1, which kubectl and oc read (sigs.k8s.io/yaml): read them as they do.
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  if (!Array.isArray(documents)) return { format: detectFormat(text), text, documents: [], objects: [] };
  const objects: KubeObject[] = [];
  documents.forEach((doc, index) => {
    const error = doc.errors[0];
    if (error !== undefined) {
      const [line, col] = [error.linePos?.[0]?.line, error.linePos?.[0]?.col];
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${name}${line === undefined ? "" : `:${line}:${col}`}: not YAML or JSON: ${error.message.split("\n")[0]}`,
        { path: name },
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (cause) {
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${name}: document ${index + 1}: ${(cause as Error).message.split("\n")[0]}`,
        { path: name, cause },
      );
    }
    if (value === null || value === undefined) return; // an empty document (a trailing `---`)
    if (!isRecord(value) || !(isMap(doc.contents) || isSeq(doc.contents))) {
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${name}: document ${index + 1}: expected a Kubernetes object (a mapping with kind), found ${Array.isArray(value) ? "a sequence" : typeof value}`,
        { path: name },
      );
    }
    const add = (object: unknown, path: (string | number)[]) => {
      const where = whereOf(documents.length, index, path);
      if (!isRecord(object)) {
        throw new BootstreamError(
          "INVALID_DOCUMENT",
          `${name}: ${where}: expected an object, found ${typeof object}`,
          {
            path: name,
          },
        );
      }
      const kind = typeof object.kind === "string" ? object.kind : "";
      objects.push({ value: object, kind, document: index, path, where });
    };
    // `oc get a,b -o yaml` prints a List; `kubectl` may print SecretList, MachineSetList, ...
    if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
      for (const [i, item] of value.items.entries()) add(item, ["items", i]);
    } else {
      add(value, []);
    }
  });
  return { format: detectFormat(text), text, documents, objects };
}
