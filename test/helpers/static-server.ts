/** A static file server on 127.0.0.1 with Range support, counting requests and concurrency. */
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";

export interface StaticServer {
  url: string;
  server: Server;
  requests: { path: string; range: string | undefined }[];
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startStaticServer(
  root: string,
  options: { delayMs?: number } = {},
): Promise<StaticServer> {
  const state: Pick<StaticServer, "requests" | "maxInFlight"> = { requests: [], maxInFlight: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path));
    state.requests.push({ path, range: req.headers.range });
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const respond = () => {
      let size: number;
      try {
        const info = statSync(file);
        if (!file.startsWith(root) || !info.isFile()) throw new Error("not a file");
        size = info.size;
      } catch {
        res.writeHead(404).end();
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, {
        "content-length": size - start,
        ...(m ? { "content-range": `bytes ${start}-${size - 1}/${size}` } : {}),
      });
      createReadStream(file, { start }).pipe(res);
    };
    if (options.delayMs) setTimeout(respond, options.delayMs);
    else respond();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    get requests() {
      return state.requests;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
