/** The command-line entry: the only module that touches `process`. */

import { constants } from "node:os";
import { rpmArch } from "./cli/context.ts";
import { runCli, windsDownOnShutdown } from "./cli/program.ts";
import { enableForcedGc } from "./download/memory.ts";
import { removeTrackedTempsSync } from "./files/atomic.ts";

// The pinned AWS SDK supports Node 20; its notice about future releases is noise on every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// Downloads stream gigabytes through 64 KiB socket buffers that V8 frees only on its own
// schedule; collecting young garbage every few MiB keeps the process's memory flat
// (src/download/memory.ts). It sets a process-wide V8 flag, so only this entry does it, and
// BOOTSTREAM_NO_FORCED_GC=1 turns it off.
if (process.env.BOOTSTREAM_NO_FORCED_GC !== "1") enableForcedGc();

// A closed pipe (`bootstream list | head`) is not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

/**
 * How long `serve` may take to finish in-flight requests after SIGTERM/SIGINT before it is
 * ended anyway; a little over the server's own 10 s grace, so that one normally wins.
 */
const SHUTDOWN_GRACE_MS = 11_000;

const argv = process.argv.slice(2);
const shutdown = new AbortController();
const windsDown = windsDownOnShutdown(argv);
let stopping: NodeJS.Signals | undefined;

/**
 * Ends the process by `signal` after removing its temporary files. The process re-raises the
 * signal instead of calling exit(128 + n): the shell sees the same status (130, 143) and also
 * learns that the command was interrupted, so `for f in *; do bootstream fmt "$f"; done` stops
 * on Ctrl-C. And exit() would never return while a thread-pool thread is blocked (opening or
 * reading a FIFO nobody writes to): Node joins those threads on exit, a signal does not wait.
 */
function end(signal: NodeJS.Signals): void {
  removeTrackedTempsSync();
  process.exitCode = 128 + constants.signals[signal];
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Only if the signal was somehow not fatal: exit with the status it would have given.
  setTimeout(() => process.exit(), 1000);
}

function onSignal(signal: NodeJS.Signals): void {
  // Every command but serve has nothing worth finishing (a download's .part is its resume
  // point): it ends at once. A second signal ends serve without waiting either.
  if (!windsDown || stopping !== undefined) {
    end(signal);
    return;
  }
  stopping = signal;
  shutdown.abort(signal);
  setTimeout(() => end(signal), SHUTDOWN_GRACE_MS).unref();
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, onSignal);

const exitCode = await runCli(argv, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
  hostArch: rpmArch(process.arch),
  shutdown: shutdown.signal,
});
// A command that wound down after a signal still ends as signalled: a supervisor learns it was stopped.
if (stopping !== undefined) end(stopping);
else process.exitCode = exitCode;
