/** A stream SOURCE read for commands that carry it on (oci, configmap): verified, parsed and canonical. */

import { toCanonicalJSON } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { loadDocument } from "../source/load.ts";
import type { CommandKit } from "./context.ts";
import { streamSourceOptions, type TrustFlags } from "./options.ts";

/** The stream and its canonical text (keeping its own indent). */
export async function canonicalStream(
  kit: CommandKit,
  source: string,
  flags: { streamBaseUrl?: string } & TrustFlags,
): Promise<{ stream: Stream; text: string }> {
  const { document } = await loadDocument(source, { ...streamSourceOptions(kit.ctx, flags), kind: "stream" });
  const stream = document.data as Stream;
  return { stream, text: toCanonicalJSON(stream, { kind: "stream", indent: document.indent ?? 4 }) };
}
