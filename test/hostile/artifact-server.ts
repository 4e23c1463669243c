/**
 * A hostile artifact server on 127.0.0.1 for download and mirror attacks. Each path gets a
 * behaviour: an honest file (with or without Range), a 206 that starts elsewhere than asked
 * or overruns its Content-Range, a peer that accepts and never answers, one that stalls
 * mid-body, redirects to anywhere, any status. Every request is recorded, and close() also
 * ends the stalled connections. runHostile runs the real executable against it with a hard
 * limit (a hang fails the test instead of stalling the suite) and samples its peak RSS.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { BIN } from "../helpers/cli.ts";

export type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

export interface ArtifactServer {
  url: string;
  server: Server;
  /** Every request seen: path (raw, still escaped) and Range header. */
  requests: { path: string; range: string | undefined }[];
  /** Sets what a path does; `path` is the raw request path. */
  route(path: string, behaviour: Behaviour): void;
  close(): Promise<void>;
}

export async function startArtifactServer(): Promise<ArtifactServer> {
  const routes = new Map<string, Behaviour>();
  const requests: ArtifactServer["requests"] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    requests.push({ path, range: req.headers.range });
    const behaviour = routes.get(path);
    if (behaviour === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    behaviour(req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    requests,
    route: (path, behaviour) => {
      routes.set(path, behaviour);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The start of a `Range: bytes=N-` header, or undefined. */
export function rangeStart(req: IncomingMessage): number | undefined {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  return m ? Number(m[1]) : undefined;
}

/** An honest file: 200, or 206 for `bytes=N-` (416 with `bytes *\/SIZE` past the end). */
export function honest(body: Buffer): Behaviour {
  return (req, res) => {
    const start = rangeStart(req);
    if (start === undefined) {
      res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" }).end(body);
      return;
    }
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    res
      .writeHead(206, {
        "content-length": body.length - start,
        "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
      })
      .end(body.subarray(start));
  };
}

/**
 * Answers a Range request with a 206 of the whole file (`bytes 0-…`) whatever was asked;
 * honest without Range.
 */
export function wrongStart(body: Buffer): Behaviour {
  return (req, res) => {
    if (rangeStart(req) === undefined) return honest(body)(req, res);
    res
      .writeHead(206, {
        "content-length": body.length,
        "content-range": `bytes 0-${body.length - 1}/${body.length}`,
      })
      .end(body);
  };
}

/** Answers a Range request with the right 206 header but more bytes than it announces (chunked). */
export function overrun(body: Buffer, extra: Buffer): Behaviour {
  return (req, res) => {
    const start = rangeStart(req);
    if (start === undefined) return honest(body)(req, res);
    res.writeHead(206, { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(Buffer.concat([body.subarray(start), extra]));
  };
}

/** Accepts the connection and the request, never answers. */
export const silent: Behaviour = () => {};

/** Sends the headers and the first `bytes` of the body, then nothing more. */
export function stallAfter(body: Buffer, bytes: number): Behaviour {
  return (_req, res) => {
    res.writeHead(200, { "content-length": body.length });
    res.write(body.subarray(0, bytes));
  };
}

export function redirect(location: string, status = 302): Behaviour {
  return (_req, res) => {
    res.writeHead(status, { location }).end();
  };
}

export function status(code: number): Behaviour {
  return (_req, res) => {
    res.writeHead(code, { "content-type": "text/plain" }).end(`${code}\n`);
  };
}

/** Chunked (no Content-Length) body of `size` bytes of `fill`. */
export function chunked(size: number, fill = 0x41): Behaviour {
  return (_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, fill);
    let left = size;
    const pump = () => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        if (!res.write(piece)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("close", () => res.removeAllListeners("drain"));
    pump();
  };
}

// The real executable, as an attack runs it.

export interface HostileRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Highest VmHWM seen, in KiB (0 when /proc is not there). */
  peakRssKb: number;
}

function highWaterMarkKb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function runHostile(
  args: string[],
  options: { env?: Record<string, string>; limitMs?: number; cwd?: string } = {},
): Promise<HostileRun> {
  const limitMs = options.limitMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = "";
    let stderr = "";
    let peakRssKb = 0;
    child.stdout.on("data", (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c;
    });
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peakRssKb = Math.max(peakRssKb, highWaterMarkKb(child.pid));
    }, 20);
    const killer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${limitMs} ms: it hangs. stderr: ${stderr}`));
    }, limitMs);
    child.on("close", (code) => {
      clearTimeout(killer);
      clearInterval(sampler);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started, peakRssKb });
    });
  });
}

/** The error a `--json` run printed on stdout. */
export function jsonError(run: HostileRun): { code: string; message: string; path?: string } {
  try {
    return (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error;
  } catch {
    return { code: "(no JSON error)", message: `${run.stdout}${run.stderr}` };
  }
}
