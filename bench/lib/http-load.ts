/**
 * In-process HTTP load on keep-alive connections (node:http Agent): every request has a
 * deadline and every answer is recorded with its timing, status, ETag and body digest, so a
 * bench or test can check afterwards that each one was answered in time with bytes it allows.
 */
import { Agent, request } from "node:http";
import { sha256 } from "./bootstream.ts";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
}

/** GET (or HEAD) `url`; rejects on a connection error or when no full answer came within `timeoutMs`. */
export function get(
  url: string,
  options: { agent?: Agent; headers?: Record<string, string>; timeoutMs?: number; method?: string } = {},
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method ?? "GET",
      headers: { "accept-encoding": "identity", ...options.headers },
      ...(options.agent ? { agent: options.agent } : {}),
    });
    const timer = setTimeout(
      () => req.destroy(new DeadlineError(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs ?? 3000,
    );
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: performance.now() - started,
        });
      });
    });
    req.end();
  });
}

export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/** What one load request asked for: `kind` groups paths for the checks (pointer, pinned, ...). */
export interface Target {
  replica: number;
  path: string;
  kind: string;
}

export interface Sample extends Target {
  /** performance.now() at send and at the end of the answer (or the failure). */
  start: number;
  end: number;
  /** 0 when there was no answer. */
  status: number;
  etag?: string;
  /** sha256 of the body of a 200. */
  sha256?: string;
  retryAfter?: string;
  /** Connection error or missed deadline. */
  error?: string;
  conditional: boolean;
}

export interface LoadOptions {
  replicas: string[];
  /** Connections (each a sequential client) per replica. */
  connections: number;
  timeoutMs: number;
  /** The next path a client of `replica` asks for. */
  pick(replica: number): { path: string; kind: string };
  /** Share of requests sent with If-None-Match of the last ETag seen for that path. */
  conditionalShare?: number;
  /** Pause of each client between requests (0: back to back). */
  pauseMs?: number;
}

export interface Load {
  samples: Sample[];
  /** Stops the clients after their current request and returns every sample. */
  stop(): Promise<Sample[]>;
}

export function startLoad(options: LoadOptions): Load {
  const samples: Sample[] = [];
  let running = true;
  const lastEtag = new Map<string, string>();
  const agents = options.replicas.map(() => new Agent({ keepAlive: true, maxSockets: options.connections }));
  const client = async (replica: number) => {
    const base = options.replicas[replica] as string;
    const agent = agents[replica] as Agent;
    while (running) {
      const { path, kind } = options.pick(replica);
      const key = `${replica} ${path}`;
      const known = lastEtag.get(key);
      const conditional = known !== undefined && Math.random() < (options.conditionalShare ?? 0.2);
      const start = performance.now();
      const sample: Sample = { replica, path, kind, start, end: start, status: 0, conditional };
      try {
        const answer = await get(base + path, {
          agent,
          timeoutMs: options.timeoutMs,
          ...(conditional && known ? { headers: { "if-none-match": known } } : {}),
        });
        sample.end = performance.now();
        sample.status = answer.status;
        const etag = answer.headers.etag;
        if (typeof etag === "string") {
          sample.etag = etag;
          if (answer.status === 200) lastEtag.set(key, etag);
        }
        const retryAfter = answer.headers["retry-after"];
        if (typeof retryAfter === "string") sample.retryAfter = retryAfter;
        if (answer.status === 200) sample.sha256 = sha256(answer.body);
      } catch (error) {
        sample.end = performance.now();
        sample.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      samples.push(sample);
      // A refused connection fails in microseconds: do not spin the CPU the servers need.
      const pause = sample.error ? Math.max(20, options.pauseMs ?? 0) : (options.pauseMs ?? 0);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  };
  const clients: Promise<void>[] = [];
  for (let replica = 0; replica < options.replicas.length; replica++)
    for (let i = 0; i < options.connections; i++) clients.push(client(replica));
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(clients);
      for (const agent of agents) agent.destroy();
      return samples;
    },
  };
}

/** Nearest-rank percentile (p in 0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The sha256 an ETag names: `"<sha>"`, `"<sha>-gzip"`, `W/"<sha>"`. */
export function etagDigest(etag: string | undefined): string | undefined {
  return etag ? /([0-9a-f]{64})/.exec(etag)?.[1] : undefined;
}
