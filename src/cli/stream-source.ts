/** A stream SOURCE read for commands that carry it on (oci, configmap): verified, parsed and canonical. */

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
  // The canonical text parsing already made (its own indent, its number lexemes).
  return { stream: document.data as Stream, text: document.canonical };
}
