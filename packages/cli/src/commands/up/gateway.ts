import http from "node:http";
import type { Duplex } from "node:stream";
import { ENVD_PORT, isSandboxRequest, SANDBOX_ID_HEADER, SANDBOX_PORT_HEADER, type Proxy } from "@cove/proxy";
import type { Api } from "@cove/api";

export interface Gateway {
  server: http.Server;
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets requests in flight finish (up to graceMs), then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

/**
 * One port for everything: requests that name a sandbox (routing headers or a
 * `{port}-{id}.{domain}` host) go to the proxy, the rest to the api.
 */
export function createGateway(parts: { api?: Api; proxy?: Proxy; domain?: string | undefined }): Gateway {
  const { api, proxy, domain } = parts;
  const tunnels = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    if (proxy !== undefined && (api === undefined || isSandboxRequest(req, domain))) proxy.handle(req, res);
    else if (proxy !== undefined && api !== undefined && isSignedFileUrl(req)) {
      // SDK download/upload URLs name no sandbox (spec 1.6 (b)); the signature does.
      api.service.findBySignedUrl(new URL(req.url ?? "/", "http://gateway"), req.method ?? "GET").then(
        (sandboxId) => {
          if (sandboxId === undefined) return api.app.routing(req, res);
          req.headers[SANDBOX_ID_HEADER] = sandboxId;
          req.headers[SANDBOX_PORT_HEADER] = String(ENVD_PORT);
          proxy.handle(req, res);
        },
        () => api.app.routing(req, res),
      );
    } else if (api !== undefined) api.app.routing(req, res);
  });
  // Long streams (process output) must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnels.add(socket);
    socket.once("close", () => tunnels.delete(socket));
    if (proxy !== undefined && (api === undefined || isSandboxRequest(req, domain))) proxy.handleUpgrade(req, socket, head);
    else if (api === undefined || !api.handleUpgrade(req, socket, head)) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
  });
  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? portInUse(host, port) : err));
        server.listen(port, host, () => {
          server.off("error", reject);
          const a = server.address();
          resolve(typeof a === "object" && a !== null ? { host, port: a.port } : { host, port });
        });
      });
    },
    async close(graceMs = 2000) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        server.closeAllConnections();
        for (const t of tunnels) t.destroy();
      }, graceMs);
      timer.unref();
      for (const t of tunnels) t.destroy();
      await closed;
      clearTimeout(timer);
    },
  };
}

function portInUse(host: string, port: number): Error {
  return new Error(`${host}:${port} is already in use (another cove up?); choose another port with --port`);
}

/**
 * The port to serve on, checked before anything is started: a taken port fails at once, and
 * port 0 becomes a free port now (the sandbox domain below needs to know it). The real bind can
 * still lose a race.
 */
export function reservePort(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = http.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? portInUse(host, port) : err));
    probe.listen(port, host, () => {
      const a = probe.address();
      const chosen = typeof a === "object" && a !== null ? a.port : port;
      probe.close(() => resolve(chosen));
    });
  });
}

/**
 * With no sandbox domain configured and a loopback address, `localhost:<port>`: the SDK's
 * `getHost(port)` then gives `<port>-<id>.localhost:<gateway port>`, which browsers and curl
 * resolve to this machine (RFC 6761), and the gateway routes by host. Without it the SDK would
 * fall back to e2b.app and send users' traffic to E2B.
 */
export function defaultDomain(host: string, port: number): string | undefined {
  // On all addresses too: the printed URLs are this machine's; remote clients need --domain anyway.
  return ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"].includes(host) ? `localhost:${port}` : undefined;
}

function isSignedFileUrl(req: http.IncomingMessage): boolean {
  const url = req.url ?? "";
  return url.startsWith("/files?") && url.includes("signature=");
}

/** The URL a client on this machine uses for an address we listen on. */
export function publicUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
