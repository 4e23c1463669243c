/**
 * Kubernetes objects as `oc get ... -o yaml|json` prints them: one `kind: List` with `items`,
 * several YAML documents, or JSON. YAML is read as YAML 1.1, the way kubectl and oc read it,
 * and kept as `yaml` Documents, so a rewrite can touch only the bytes of the fields it changes
 * (see rewrite.ts). JSON is read by the project's JSON decoder; its Documents are parsed only
 * when a rewrite asks for them.
 */
import { type Document, isMap, isSeq, Lexer, parseAllDocuments, type Tags } from "yaml";
import { parseJson } from "../canonical/parse.ts";
import { BootstreamError, toPointer } from "../errors.ts";
import { isPlainObject } from "../schema/documents.ts";

/** Aliases have no place in `oc` output; a few are tolerated, a "billion laughs" is not. */
const MAX_ALIAS_COUNT = 16;

/**
 * Limits checked before any YAML tree is built: the tree costs about a kilobyte per node, so
 * 4 MB of `---` lines or of `{},` would take gigabytes. A cluster has tens of MachineSets of a
 * few hundred nodes each; these allow a List of 10,000 small ones.
 */
export const MAX_DOCUMENTS = 10_000;
export const MAX_ITEMS = 10_000;
export const MAX_NODES = 500_000;

/**
 * kubectl and oc read YAML 1.1 (sigs.k8s.io/yaml over go-yaml v2): `yes` and `on` are true,
 * `0777` is octal, `<<` merges. go-yaml v2 keeps a timestamp as a string when the target is
 * untyped and has no sexagesimal numbers (`1:30`), so neither is read here either.
 */
const dropGoYamlStrings = (tags: Tags): Tags =>
  tags.filter((t) =>
    typeof t === "string"
      ? !["timestamp", "intTime", "floatTime"].includes(t)
      : t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME",
  );
export const KUBE_YAML_OPTIONS = {
  version: "1.1",
  customTags: dropGoYamlStrings,
  merge: true,
  uniqueKeys: true,
  prettyErrors: true,
} as const;

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
  /** Each document as plain data, as kubectl reads it (null for an empty document). */
  values: unknown[];
  /** The documents as `yaml` Documents, for rewrites (for JSON, parsed on first use). */
  readonly documents: Document.Parsed[];
  objects: KubeObject[];
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

function tooLarge(name: string, what: string): BootstreamError {
  return new BootstreamError("TOO_LARGE", `${name}: ${what}`, { path: name });
}

/**
 * An upper bound of the documents and nodes of YAML (or JSON) text, from the lexer's tokens,
 * which hold no tree: each scalar, flow collection, alias and `-` `?` `:` `,` indicator may make
 * a node. Throws TOO_LARGE over the limits.
 */
function checkSize(text: string, name: string): void {
  let documents = 1;
  let nodes = 0;
  let scalarSource = false;
  for (const token of new Lexer().lex(text)) {
    if (scalarSource) {
      scalarSource = false; // the source text after a SCALAR marker is that same scalar
      continue;
    }
    const first = token[0];
    if (token === "---" || token === "...") {
      if (++documents > MAX_DOCUMENTS)
        throw tooLarge(name, `more than ${MAX_DOCUMENTS} YAML documents, the limit (oc prints one List)`);
    } else if (token === "\x1f") {
      scalarSource = true;
      nodes++;
    } else if (first !== undefined && "-?:,{[*'\"".includes(first)) {
      nodes++;
    } else {
      continue;
    }
    if (nodes > MAX_NODES)
      throw tooLarge(name, `more than ${MAX_NODES} nodes (values, keys, list items), the limit`);
  }
}

function parseYamlDocuments(text: string, name: string): Document.Parsed[] {
  const documents = parseAllDocuments(text, KUBE_YAML_OPTIONS);
  if (!Array.isArray(documents)) return []; // only comments or directives
  for (const doc of documents) {
    const error = doc.errors[0];
    if (error === undefined) continue;
    const [line, col] = [error.linePos?.[0]?.line, error.linePos?.[0]?.col];
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}${line === undefined ? "" : `:${line}:${col}`}: not YAML or JSON: ${error.message.split("\n")[0]}`,
      { path: name },
    );
  }
  return documents;
}

function readJson(text: string, name: string): unknown {
  try {
    return parseJson(text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch (cause) {
    if (!(cause instanceof BootstreamError) || cause.code !== "INVALID_DOCUMENT") throw cause;
    const at = cause.path ? ` at ${cause.path}` : "";
    throw new BootstreamError("INVALID_DOCUMENT", `${name}: not JSON${at}: ${cause.message}`, {
      path: name,
      cause,
    });
  }
}

function yamlValue(doc: Document.Parsed, index: number, name: string): unknown {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (cause) {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}: document ${index + 1}: ${(cause as Error).message.split("\n")[0]}`,
      { path: name, cause },
    );
  }
  // A whole document that is an alias has no place of its own to rewrite.
  if (isPlainObject(value) && !(isMap(doc.contents) || isSeq(doc.contents)))
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}: document ${index + 1}: expected a Kubernetes object (a mapping with kind), found an alias`,
      { path: name },
    );
  return value;
}

/** Parses every document of `text`; `name` (a file name or "-") is named in errors. */
export function parseKubeObjects(text: string, name: string): KubeObjects {
  const format = detectFormat(text);
  let values: unknown[];
  let documents: Document.Parsed[] | undefined;
  checkSize(text, name); // JSON is YAML to the lexer
  if (format === "json") {
    values = [readJson(text, name)];
  } else {
    const parsed = parseYamlDocuments(text, name);
    documents = parsed;
    values = parsed.map((doc, index) => yamlValue(doc, index, name));
  }
  const objects: KubeObject[] = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) return; // an empty document (a trailing `---`)
    if (!isPlainObject(value)) {
      const found = Array.isArray(value) ? "a sequence" : typeof value;
      throw new BootstreamError(
        "INVALID_DOCUMENT",
        `${name}: document ${index + 1}: expected a Kubernetes object (a mapping with kind), found ${found}`,
        { path: name },
      );
    }
    const add = (object: unknown, path: (string | number)[]) => {
      const where = whereOf(values.length, index, path);
      if (!isPlainObject(object))
        throw new BootstreamError(
          "INVALID_DOCUMENT",
          `${name}: ${where}: expected an object, found ${typeof object}`,
          {
            path: name,
          },
        );
      const kind = typeof object.kind === "string" ? object.kind : "";
      objects.push({ value: object, kind, document: index, path, where });
    };
    // `oc get a,b -o yaml` prints a List; `kubectl` may print SecretList, MachineSetList, ...
    if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
      if (value.items.length > MAX_ITEMS)
        throw tooLarge(name, `a List of more than ${MAX_ITEMS} items, the limit`);
      for (const [i, item] of value.items.entries()) add(item, ["items", i]);
    } else {
      add(value, []);
    }
  });
  return {
    format,
    text,
    values,
    get documents() {
      documents ??= parseYamlDocuments(text, name);
      return documents;
    },
    objects,
  };
}
