/** Where publishing puts things in a store (architecture.md "Store layout"). */
import { BootstreamError } from "../errors.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";

const ID = /^\d{8}(-\d{1,3})?$/;

/** The one rule for stream names (schema/names.ts): every key below is built only from checked names. */
export function checkStreamName(name: string): string {
  if (!isStreamName(name)) {
    const shown = name.length > 80 ? `${JSON.stringify(name.slice(0, 80))}…` : JSON.stringify(name);
    throw new BootstreamError("USAGE", `invalid stream name ${shown}: expected ${STREAM_NAME_EXPECTATION}`);
  }
  return name;
}

export function checkPinnedId(id: string): string {
  if (!ID.test(id))
    throw new BootstreamError(
      "USAGE",
      `invalid pinned id ${JSON.stringify(id)}: expected YYYYMMDD or YYYYMMDD-N`,
    );
  return id;
}

export const pointerKey = (name: string) => `streams/${checkStreamName(name)}.json`;
export const pinnedKey = (name: string, id: string) =>
  `streams/${checkStreamName(name)}/${checkPinnedId(id)}.json`;
export const historyKey = (name: string) => `streams/${checkStreamName(name)}/history.json`;
export const signatureKey = (key: string) => `${key}.asc`;
/** Where `publish --from-git` records what it published last. */
export const gitSyncKey = "sync/git.json";

/** The pinned id for a last-modified time: its UTC date, then -2, -3, ... on repeats. */
export function pinnedIdFor(lastModified: string, attempt: number): string {
  const date = new Date(lastModified).toISOString().slice(0, 10).replaceAll("-", "");
  return attempt <= 1 ? date : `${date}-${attempt}`;
}
