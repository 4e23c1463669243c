/** Where publishing puts things in a store (architecture.md "Store layout"). */
import { BootstreamError } from "../errors.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ID = /^\d{8}(-\d+)?$/;

export function checkStreamName(name: string): string {
  if (!NAME.test(name) || name.includes("..")) {
    throw new BootstreamError(
      "USAGE",
      `invalid stream name ${JSON.stringify(name)}: expected letters, digits, . _ - (like stable or rhcos-4.16)`,
    );
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

export const pointerKey = (name: string) => `streams/${name}.json`;
export const pinnedKey = (name: string, id: string) => `streams/${name}/${id}.json`;
export const historyKey = (name: string) => `streams/${name}/history.json`;
export const signatureKey = (key: string) => `${key}.asc`;
/** Where `publish --from-git` records what it published last. */
export const gitSyncKey = "sync/git.json";

/** The pinned id for a last-modified time: its UTC date, then -2, -3, ... on repeats. */
export function pinnedIdFor(lastModified: string, attempt: number): string {
  const date = new Date(lastModified).toISOString().slice(0, 10).replaceAll("-", "");
  return attempt <= 1 ? date : `${date}-${attempt}`;
}
