import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createProxy, type ProxyOptions } from "./proxy.js";

export interface ProxyServerOptions extends ProxyOptions {
  /** How long close() waits for in-flight requests and tunnels before cutting them. Default 10 s. */
  drainTimeoutMs?: number;
}

export interface ProxyServer {
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to drainTimeoutMs), then closes. */
  close(): Promise<void>;
  readonly server: http.Server;
}

export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  const proxy = createProxy(options);
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let inFlight = 0;
  const tunnels = new Set<Duplex>();
  let onIdle: (() => void) | undefined;
  const settle = () => {
    if (inFlight === 0 && tunnels.size === 0) onIdle?.();
  };

  const server = http.createServer((req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      settle();
    });
    proxy.handle(req, res);
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnels.add(socket);
    socket.on("close", () => {
      tunnels.delete(socket);
      settle();
    });
    proxy.handleUpgrade(req, socket, head);
  });

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainTimeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
        settle();
      });
      for (const s of tunnels) s.destroy();
      server.closeAllConnections();
      await closed;
      proxy.close();
    },
  };
}
