import http from "node:http";
import type { Duplex } from "node:stream";
import { ENVD_PORT } from "@cove/protocol/envd";
import type { Proxy } from "./proxy.js";
import { isSandboxRequest, SANDBOX_ID_HEADER, SANDBOX_PORT_HEADER } from "./target.js";

/**
 * The control plane as the gateway sees it (the api's `Api` satisfies it). Owned here so the
 * proxy never depends on the api package.
 */
export interface GatewayApi {
  /** Serves a request that is not sandbox traffic. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Takes a WebSocket upgrade the api serves; false when the request is not one. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** The sandbox a signed file URL (SDK download/upload) is for; undefined when none. */
  findBySignedUrl(url: URL, method: string): Promise<string | undefined>;
}

export interface GatewayOptions {
  api?: GatewayApi;
  proxy?: Proxy;
  /** Sandbox domain for `{port}-{id}.{domain}` hosts. */
  domain?: string | undefined;
  /** How long close() lets sandbox traffic (proxied requests, tunnels) run on. Default 2000. */
  graceMs?: number;
}

export type GatewayErrorCode = "address_in_use";

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

export interface Gateway {
  readonly server: http.Server;
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting. Requests to the api in flight are answered, however long they take (a
   * create that runs on must reach its caller, or the caller would never learn of a sandbox
   * that exists). Sandbox traffic, which can stream without end, gets the grace period: then
   * proxied requests are cut and tunnels are ended (FIN, then destroyed if the peer lingers).
   * WebSockets the api accepted are the api's to close.
   */
  close(graceMs?: number): Promise<void>;
}

/** A tunnel that was ended is destroyed after this long if the peer does not close its side. */
const TUNNEL_LINGER_MS = 1000;

export function addressInUse(host: string, port: number): GatewayError {
  return new GatewayError("address_in_use", `${host}:${port} is already in use (another cove up?); choose another port with --port`);
}

/**
 * One port for everything: requests that name a sandbox (routing headers or a
 * `{port}-{id}.{domain}` host) go to the proxy, the rest to the api. With only one of the two,
 * it serves that one (`cove api`, `cove proxy`).
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { api, proxy, domain } = options;
  const defaultGraceMs = options.graceMs ?? 2000;
  const apiRequests = new Set<http.ServerResponse>();
  const sandboxRequests = new Set<http.ServerResponse>();
  const tunnels = new Set<Duplex>();
  let closing = false;
  let changed: (() => void) | undefined;

  const toProxy = (req: http.IncomingMessage) => proxy !== undefined && (api === undefined || isSandboxRequest(req, domain));

  function track(set: Set<http.ServerResponse>, res: http.ServerResponse): void {
    set.add(res);
    // While draining, each answer ends its connection, so keep-alive sockets do not hold the close open.
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      set.delete(res);
      changed?.();
    });
  }

  function toSandbox(req: http.IncomingMessage, res: http.ServerResponse, p: Proxy): void {
    track(sandboxRequests, res);
    p.handle(req, res);
  }

  function toApi(req: http.IncomingMessage, res: http.ServerResponse, a: GatewayApi): void {
    track(apiRequests, res);
    a.handle(req, res);
  }

  const server = http.createServer((req, res) => {
    if (proxy !== undefined && toProxy(req)) return toSandbox(req, res, proxy);
    if (api === undefined) return;
    if (proxy !== undefined && isSignedFileUrl(req)) {
      // SDK download/upload URLs name no sandbox (spec 1.6 (b)); the signature does.
      api.findBySignedUrl(new URL(req.url ?? "/", "http://gateway"), req.method ?? "GET").then(
        (sandboxId) => {
          if (sandboxId === undefined) return toApi(req, res, api);
          req.headers[SANDBOX_ID_HEADER] = sandboxId;
          req.headers[SANDBOX_PORT_HEADER] = String(ENVD_PORT);
          toSandbox(req, res, proxy);
        },
        () => toApi(req, res, api),
      );
      return;
    }
    toApi(req, res, api);
  });
  // Long streams (process output) must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (proxy !== undefined && toProxy(req)) {
      tunnels.add(socket);
      socket.once("close", () => {
        tunnels.delete(socket);
        changed?.();
      });
      proxy.handleUpgrade(req, socket, head);
    } else if (api === undefined || !api.handleUpgrade(req, socket, head)) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
  });

  /** Resolves when `done()` holds, re-checked whenever a tracked request or tunnel ends. */
  function until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        changed = undefined;
        resolve();
      };
      changed = check;
      check();
    });
  }

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? addressInUse(host, port) : err);
        server.once("error", failed);
        server.listen(port, host, () => {
          server.off("error", failed);
          const a = server.address();
          resolve(typeof a === "object" && a !== null ? { host, port: a.port } : { host, port });
        });
      });
    },
    async close(graceMs = defaultGraceMs) {
      closing = true;
      for (const res of [...apiRequests, ...sandboxRequests]) if (!res.headersSent) res.setHeader("connection", "close");
      server.close();
      server.closeIdleConnections();

      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        until(() => sandboxRequests.size === 0 && tunnels.size === 0),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      for (const res of sandboxRequests) res.destroy();
      for (const t of tunnels) endTunnel(t);

      await until(() => apiRequests.size === 0 && tunnels.size === 0);
      // Answered requests' sockets close on their own (Connection: close); idle ones now.
      server.closeAllConnections();
    },
  };
}

/** A FIN first, so the client sees the tunnel end rather than a reset; then gone for good. */
function endTunnel(socket: Duplex): void {
  socket.end();
  setTimeout(() => socket.destroy(), TUNNEL_LINGER_MS).unref();
}

function isSignedFileUrl(req: http.IncomingMessage): boolean {
  const url = req.url ?? "";
  return url.startsWith("/files?") && url.includes("signature=");
}
