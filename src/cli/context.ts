/**
 * Everything a command may touch of the outside world, handed in by bin.ts (the only
 * module that reads `process`), so commands run the same in tests and in a terminal.
 */
import type { Readable, Writable } from "node:stream";

export interface CliContext {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal (progress bars and colour only then). */
  stderrIsTTY: boolean;
  /** This machine's architecture as an RPM name (x86_64, aarch64, ...). */
  hostArch: string;
  /**
   * Aborted when the process is asked to stop (SIGTERM, SIGINT) and the command winds down on
   * its own (serve: see `windsDownOnShutdown`); bin.ts ends every other command at once.
   */
  shutdown?: AbortSignal;
}

/** What a command handler gets: its context and a way to run the body with error mapping. */
export interface CommandKit {
  ctx: CliContext;
  /** Runs `body`; its number (or a caught error's code) becomes the exit status. */
  run(json: boolean | undefined, body: () => Promise<number>): Promise<void>;
}

/** Node's `process.arch` to the architecture names streams use (stream-metadata-go arch.go). */
export function rpmArch(nodeArch: string): string {
  switch (nodeArch) {
    case "x64":
      return "x86_64";
    case "arm64":
      return "aarch64";
    case "ppc64":
      return "ppc64le";
    default:
      return nodeArch;
  }
}

export function writeLine(stream: Writable, line = ""): void {
  stream.write(`${line}\n`);
}
