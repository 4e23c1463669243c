/**
 * Real `bootstream` processes for benches and fault tests: serve replicas, publishers (that
 * can be SIGKILLed at a chosen moment), fsck, and the stream versions they publish.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin/bootstream.js");
export const STREAM_NAME = "stable";

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface StreamVersion {
  file: string;
  body: Buffer;
  sha256: string;
  lastModified: string;
}

/**
 * Versions of the FCOS stable fixture that differ only in metadata.last-modified (one second
 * apart from `start`), written in the canonical layout so the published bytes equal the file.
 */
export function streamVersions(dir: string, count: number, start = Date.UTC(2026, 0, 1)): StreamVersion[] {
  const base = JSON.parse(readFileSync(join(ROOT, "test/fixtures/upstream/fcos-stable-stream.json"), "utf8"));
  const versions: StreamVersion[] = [];
  for (let i = 0; i < count; i++) {
    const lastModified = new Date(start + i * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    base.metadata["last-modified"] = lastModified;
    const body = Buffer.from(`${JSON.stringify(base, null, 4)}\n`);
    const file = join(dir, `stable-${start + i * 1000}.json`);
    writeFileSync(file, body);
    versions.push({ file, body, sha256: sha256(body), lastModified });
  }
  return versions;
}

export interface Replica {
  url: string;
  child: ChildProcess;
  /** stderr so far (its JSON log), for failure messages. */
  log(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (128 + signal). */
  stop(graceMs?: number): Promise<number>;
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal === "SIGKILL" ? 137 : signal === "SIGTERM" ? 143 : 128;
}

/** `bootstream serve --store STORE --port 0 ...extra`, resolved once it prints its URL. */
export function startReplica(
  store: string,
  extra: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--store", store, "--port", "0", "--log-level", "warn", ...extra],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    // Keep the tail only: a replica under load for minutes logs a lot.
    stderr = (stderr + c.toString()).slice(-20_000);
  });
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => resolve(exitCode(code, signal))),
  );
  const stop = async (graceMs = 3000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`serve did not print its URL within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume();
        resolve({ url: m[0], child, log: () => stderr, stop });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before printing its URL; stderr: ${stderr}`));
    });
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when this helper SIGKILLed the process before it exited by itself. */
  killed: boolean;
  /** From spawn to exit. */
  ms: number;
  /** performance.now() when the process exited. */
  endedAt: number;
}

/** Runs `bootstream ARGS`; with `killAfterMs`, SIGKILLs it that long after spawn. */
export function runBootstream(
  args: string[],
  env: Record<string, string>,
  options: { killAfterMs?: number; timeoutMs?: number } = {},
): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  let killed = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) {
      killed = true;
      child.kill("SIGKILL");
    }
  };
  const killer = options.killAfterMs === undefined ? undefined : setTimeout(kill, options.killAfterMs);
  const watchdog = setTimeout(kill, options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const endedAt = performance.now();
      clearTimeout(killer);
      clearTimeout(watchdog);
      resolve({ code: exitCode(code, signal), stdout, stderr, killed, ms: endedAt - started, endedAt });
    });
  });
}

/** `bootstream publish FILE --store STORE --json`; the id comes from its JSON result. */
export async function publish(
  file: string,
  store: string,
  env: Record<string, string>,
  options: { killAfterMs?: number } = {},
): Promise<CliResult & { id?: string }> {
  const result = await runBootstream(["publish", file, "--store", store, "--json"], env, options);
  if (result.code !== 0) return result;
  const id = publishedId(result.stdout);
  return id === undefined ? result : { ...result, id };
}

function publishedId(stdout: string): string | undefined {
  try {
    const json = JSON.parse(stdout) as Record<string, unknown>;
    for (const key of ["id", "pinned", "version"]) {
      const value = json[key];
      if (typeof value === "string") return value.replace(/^.*\//, "").replace(/\.json$/, "");
    }
  } catch {
    /* not JSON: fall through to the text form */
  }
  return /as (\S+) in /.exec(stdout)?.[1];
}
