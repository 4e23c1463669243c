/** Who holds a file-system lock or wrote a temporary: this host's name and whether a pid lives. */
import { hostname } from "node:os";

/** This host's name as one safe file-name segment (it goes into temporaries' names). */
export const HOST =
  hostname()
    .replace(/[^A-Za-z0-9.-]/g, "-")
    .slice(0, 63) || "localhost";

/** Whether `pid` is a live process on this host (EPERM: alive, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException | undefined)?.code !== "ESRCH";
  }
}
