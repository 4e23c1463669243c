/** Runs the CLI in-process with captured stdio, as bin.ts would with a real process. */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/program.ts";
import { tempDir } from "./fixtures.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runBootstream(
  args: string[],
  options: { stdin?: string | Buffer; env?: Record<string, string>; tty?: boolean } = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const code = await runCli(args, {
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    stdout,
    stderr,
    env: options.env ?? {},
    stderrIsTTY: options.tty === true,
    hostArch: "x86_64",
  });
  return { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

export const BIN = fileURLToPath(new URL("../../bin/bootstream.js", import.meta.url));

/** Runs the real executable in a child process (for stdin, pipes and exit codes end to end). */
export function spawnBootstream(
  args: string[],
  options: { stdin?: string | Buffer; cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`bootstream killed by ${signal}: ${Buffer.concat(err).toString()}`));
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    // The child may exit before reading all input (a size limit); that is not a test error.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}

export interface RunningBootstream {
  child: ChildProcess;
  /** Resolves when stderr (or stdout) has printed text matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number, stream?: "stdout" | "stderr"): Promise<string>;
  output(): { stdout: string; stderr: string };
  done: Promise<CliRun>;
}

/** Starts the executable and lets the test watch its output (for pause-and-kill tests and servers). */
export function startBootstream(args: string[], env: Record<string, string> = {}): RunningBootstream {
  return startNode([BIN, ...args], env);
}

/** The paused publisher (test/helpers/paused-publisher.ts): the library's publish with a stop between steps. */
const PAUSED_PUBLISHER = fileURLToPath(new URL("./paused-publisher.ts", import.meta.url));

/**
 * `bootstream publish SOURCE --store LOCATION ...` in a process that stops after `pauseAfter`
 * (and prints "paused after STEP") until `barrier` exists, or for ever without one.
 */
export function startPausedPublish(
  args: string[],
  pause: { after: string; barrier?: string },
  env: Record<string, string> = {},
): RunningBootstream {
  const pauseArgs = ["--pause-after", pause.after, ...(pause.barrier ? ["--barrier", pause.barrier] : [])];
  return startNode(["--import", "tsx", PAUSED_PUBLISHER, ...args, ...pauseArgs], env);
}

function startNode(nodeArgs: string[], env: Record<string, string>): RunningBootstream {
  const child = spawn(process.execPath, nodeArgs, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const text = { stdout: "", stderr: "" };
  const waiters: { pattern: RegExp; stream: "stdout" | "stderr"; resolve: (m: string) => void }[] = [];
  const onData = (stream: "stdout" | "stderr") => (c: Buffer) => {
    text[stream] += c.toString();
    for (const w of [...waiters]) {
      const m = w.stream === stream ? w.pattern.exec(text[stream]) : null;
      if (m) w.resolve(m[0]);
    }
  };
  child.stdout?.on("data", onData("stdout"));
  child.stderr?.on("data", onData("stderr"));
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) =>
      // A process ended by a signal reports what a shell shows: 128 + the signal's number.
      resolve({
        code: code ?? (signal ? 128 + constants.signals[signal] : 0),
        stdout: text.stdout,
        stderr: text.stderr,
      }),
    );
  });
  return {
    child,
    done,
    output: () => ({ ...text }),
    waitFor(pattern, timeoutMs = 20_000, stream = "stderr") {
      const already = pattern.exec(text[stream]);
      if (already) return Promise.resolve(already[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; ${stream}: ${text[stream]}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          stream,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          if (!pattern.test(text[stream]))
            reject(new Error(`exited before ${pattern}; stderr: ${text.stderr}`));
        });
      });
    },
  };
}

/**
 * `bootstream serve --store STORE` on a free port with one publish token (the file holds
 * `tokenFileText`), resolved once it prints its URL. `track` sees the process first, so a
 * test can stop it even when it never comes up.
 */
export async function startServe(
  store: string,
  options: { tokenFileText: string; logLevel?: string; track?: (proc: RunningBootstream) => void },
): Promise<{ proc: RunningBootstream; url: string }> {
  const tokenFile = join(tempDir(), "tokens");
  writeFileSync(tokenFile, options.tokenFileText);
  const proc = startBootstream([
    "serve",
    "--store",
    store,
    "--port",
    "0",
    "--token-file",
    tokenFile,
    "--log-level",
    options.logLevel ?? "warn",
  ]);
  options.track?.(proc);
  const url = await proc.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 20_000, "stdout");
  return { proc, url };
}
