/**
 * A TCP port in front of a store that either forwards to it or accepts and resets every
 * connection (RST, as a crashed middlebox or a half-dead load balancer does). Switching to
 * "reset" also resets the connections already open, so a client's keep-alive pool gets
 * the fault too.
 */
import { connect, createServer, type Socket } from "node:net";

export type ProxyMode = "forward" | "reset";

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`, to give as --s3-endpoint. */
  url: string;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

/** Starts the port; `upstream` is the forwarded `host:port` (unused while resetting). */
export function startFaultProxy(
  mode: ProxyMode,
  upstream?: { host: string; port: number },
): Promise<FaultProxy> {
  let current = mode;
  const open = new Set<Socket>();
  const reset = (socket: Socket) => {
    // RST instead of FIN: the client sees ECONNRESET, not a clean end of stream.
    if (!socket.destroyed) socket.resetAndDestroy();
  };
  const server = createServer((client) => {
    client.on("error", () => {});
    if (current === "reset" || !upstream) {
      reset(client);
      return;
    }
    const server = connect(upstream.port, upstream.host);
    server.on("error", () => reset(client));
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
    open.add(client);
    client.on("close", () => open.delete(client));
    client.pipe(server).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}`,
        mode: () => current,
        setMode(mode) {
          current = mode;
          if (mode === "reset") for (const socket of open) reset(socket);
        },
        close() {
          for (const socket of open) socket.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
