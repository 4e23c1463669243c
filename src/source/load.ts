/** Read a SOURCE and parse it as a document, naming the source in every error. */
import { BootstreamError } from "../errors.ts";
import { type DocumentKind, KINDS, validateValue } from "../schema/documents.ts";
import { acceptDocument, alreadyDecoded, checkDocument, type ParsedDocument } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { type ReadSourceOptions, readSource, type SourceBytes } from "./read.ts";

export interface LoadedDocument {
  name: string;
  bytes: Uint8Array;
  document: ParsedDocument;
}

/** Reads and parses any document kind (detected unless `kind` is given). */
export async function loadDocument(
  source: string,
  options: ReadSourceOptions & { kind?: DocumentKind } = {},
): Promise<LoadedDocument> {
  const read = await readSource(source, options);
  const { name, bytes } = read;
  const result = checkDocument(
    read.decoded ? alreadyDecoded(read.decoded) : bytes,
    options.kind === undefined ? {} : { kind: options.kind },
  );
  return { name, bytes, document: acceptDocument(result, name) };
}

/**
 * Reads a stream. Another known kind (a release.json, say) is refused by name; an
 * unrecognisable document is checked as a stream so the messages say what is missing.
 */
export async function loadStream(
  source: string,
  options: ReadSourceOptions = {},
): Promise<{
  name: string;
  stream: Stream;
  document: ParsedDocument<"stream">;
  bytes: Uint8Array;
  read: SourceBytes;
}> {
  const read = await readSource(source, options);
  const { name, bytes } = read;
  let result = checkDocument(read.decoded ? alreadyDecoded(read.decoded) : bytes);
  if (result.kind !== undefined && result.kind !== "stream") {
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${name}: expected a stream.json document, found ${KINDS[result.kind].title}`,
      {
        path: "",
      },
    );
  }
  if (result.kind === undefined && typeof result.data === "object" && result.data !== null) {
    // The value decoded once, validated again as a stream: same text, same number text.
    const issues = validateValue(result.data, "stream", { lexemes: result.lexemes });
    result = { ...result, kind: "stream", issues };
  }
  const document = acceptDocument(result, name) as ParsedDocument<"stream">;
  return { name, stream: document.data, document, bytes, read };
}
