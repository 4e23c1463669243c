/**
 * `bootstream serve` processes for the serve-in-production tests: started on a free port,
 * stopped with SIGTERM, killed at the end of the file if a test left one; and timed GETs.
 */
import { after } from "node:test";
import { type RunningBootstream, startBootstream } from "./cli.ts";

const running: RunningBootstream[] = [];
after(() => {
  for (const proc of running) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
});

/** `bootstream serve --port 0 ARGS`, resolved once it prints its URL. */
export async function serveProcess(
  args: string[],
  options: { env?: Record<string, string>; logLevel?: string } = {},
): Promise<{ proc: RunningBootstream; url: string }> {
  const proc = startBootstream(
    ["serve", "--port", "0", "--log-level", options.logLevel ?? "info", ...args],
    options.env ?? {},
  );
  running.push(proc);
  const url = (await proc.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 30_000, "stdout")).trim();
  return { proc, url };
}

export async function stopProcess(proc: RunningBootstream): Promise<void> {
  if (proc.child.exitCode === null) proc.child.kill("SIGTERM");
  await proc.done;
}

export interface TimedAnswer {
  status: number;
  etag: string | null;
  body: string;
  ms: number;
  headers: Headers;
}

/** A GET of the identity encoding (so ETags compare across answers), with its duration. */
export async function timedGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<TimedAnswer> {
  const started = performance.now();
  const res = await fetch(url, {
    headers: { "accept-encoding": "identity", ...headers },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  return {
    status: res.status,
    etag: res.headers.get("etag"),
    body,
    ms: performance.now() - started,
    headers: res.headers,
  };
}

/** The value of one Prometheus series in /metrics text (0 when absent). */
export function metricValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}
