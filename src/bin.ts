/** The command-line entry: the only module that touches `process`. */

import { rpmArch } from "./cli/context.ts";
import { runCli } from "./cli/program.ts";

// The pinned AWS SDK supports Node 20; its notice about future releases is noise on every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A closed pipe (`bootstream list | head`) is not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

// SIGTERM/SIGINT end long-running commands (serve) gracefully instead of killing them mid-request.
const shutdown = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => shutdown.abort(signal));

process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
  hostArch: rpmArch(process.arch),
  shutdown: shutdown.signal,
});
