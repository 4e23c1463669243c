/**
 * What serve checks before bytes read from the store replace the version it serves: each
 * key must hold what publishing writes there. A failed check is damage (IO): the catalog
 * keeps serving the previous verified version, and the damage is logged and counted.
 */

import { BootstreamError, toBootstreamError } from "../errors.ts";
import { type HistoryEntry, parseHistory } from "../publish/history.ts";
import { isStreamName } from "../schema/names.ts";
import { checkDocument } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import type { FileClass } from "./routes.ts";

export type ObjectKind = FileClass | "signature";

/** Which kind of store object a key is (keys come from the route table: streams/ only). */
export function objectKind(key: string): ObjectKind {
  if (key.endsWith(".asc")) return "signature";
  if (key.endsWith("/history.json")) return "history";
  return /^streams\/[^/]+\.json$/.test(key) ? "pointer" : "pinned";
}

/** Pinned copies and their signatures never change once written. */
export function isImmutableKey(key: string): boolean {
  return objectKind(key.replace(/\.asc$/, "")) === "pinned";
}

const SIGNATURE_ARMOR = /^\s*-----BEGIN PGP SIGNATURE-----/;

/** What verification learned beyond "servable". */
export interface Verified {
  /**
   * False for a pinned copy history does not list (yet): a publisher between its pinned copy
   * and its history entry, or one that lost a conditional publish and will withdraw it (its
   * id may then be given to other bytes). Such a copy is served, but not as immutable.
   */
  listed: boolean;
  /**
   * A pointer's stream, parsed once here and kept with the object (the download page reads
   * it). Pinned copies are not kept parsed: thousands of them would hold their trees for nothing.
   */
  stream?: Stream;
}

/**
 * Throws IO unless `body` is what `key` should hold: an armored signature, a history that
 * parses, a valid stream; a pinned copy must also hash to the digest its history entry
 * records, when history has one (`historyOf` gives the stream's entries, if known).
 */
export async function verifyObject(
  key: string,
  body: Buffer,
  sha256: string,
  historyOf: (name: string) => Promise<readonly HistoryEntry[] | undefined>,
): Promise<Verified> {
  const damaged = (why: string) => new BootstreamError("IO", `${key} in the store ${why}`, { path: key });
  const kind = objectKind(key);
  if (kind === "signature") {
    if (!SIGNATURE_ARMOR.test(body.subarray(0, 256).toString("latin1")))
      throw damaged("is not an armored OpenPGP signature");
    return { listed: true };
  }
  if (kind === "history") {
    try {
      parseHistory(body, key);
    } catch (error) {
      throw damaged(`is not a valid history (${toBootstreamError(error).message.split("\n")[0]})`);
    }
    return { listed: true };
  }
  const check = checkDocument(body, { kind: "stream" });
  if (check.issues.length > 0) throw damaged(`is not a valid stream (${check.issues[0]?.message ?? ""})`);
  if (kind !== "pinned") return { listed: true, stream: check.data as Stream };
  const m = /^streams\/([^/]+)\/([^/]+)\.json$/.exec(key);
  if (m === null) return { listed: false };
  const entry = (await historyOf(m[1] as string))?.find((e) => e.id === m[2]);
  if (entry !== undefined && entry.sha256 !== sha256)
    throw damaged(`hashes to ${sha256}, but its history entry records ${entry.sha256}`);
  return { listed: entry !== undefined };
}

/** Keys the route table can name: a pointer, history or pinned copy of a valid stream name, or its .asc. */
const SERVABLE = /^streams\/([^/]+?)(?:\.json|\/history\.json|\/\d{8}(?:-\d{1,3})?\.json)(?:\.asc)?$/;

export function isServableKey(key: string): boolean {
  const m = SERVABLE.exec(key);
  return m !== null && isStreamName(m[1] as string);
}
