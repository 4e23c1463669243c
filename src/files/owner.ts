/** Who holds a file-system lock or wrote a temporary: this host's name and whether a pid lives. */
import { readFileSync } from "node:fs";
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

/**
 * This process as a lock records it: pid and host, plus the boot and the process's start
 * time where /proc tells them. A pid alone is not an identity: a restarted container's node
 * is pid 1 again on the same host name, and pids come round again after a reboot.
 */
export interface ProcessIdentity {
  pid: number;
  host: string;
  boot?: string | undefined;
  started?: string | undefined;
}

function procText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | undefined {
  const stat = procText(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count from its closing ")".
  const rest = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest?.[19];
}

export function currentProcess(): ProcessIdentity {
  const boot = procText("/proc/sys/kernel/random/boot_id")?.trim();
  const started = startTime(process.pid);
  return {
    pid: process.pid,
    host: HOST,
    ...(boot ? { boot } : {}),
    ...(started ? { started } : {}),
  };
}

/** Whether the process a lock names may still be running (when unsure: yes). */
export function identityAlive(owner: ProcessIdentity): boolean {
  if (owner.host !== HOST) return true; // another machine's process: cannot tell
  const me = currentProcess();
  if (owner.boot !== undefined && me.boot !== undefined && owner.boot !== me.boot) return false;
  if (!processAlive(owner.pid)) return false;
  if (owner.started !== undefined) {
    const now = startTime(owner.pid);
    if (now !== undefined && now !== owner.started) return false; // the pid is someone else's now
  }
  return true;
}
