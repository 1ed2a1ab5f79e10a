import http from "node:http";
import type { Http2Server } from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Process } from "@cove/protocol/process";
import { Filesystem } from "@cove/protocol/filesystem";
import { createHelperSpawner } from "@cove/protocol/spawner";
import { isAuthorized, UNAUTHORIZED_MESSAGE } from "./auth.js";
import type { EnvdConfig } from "./config.js";
import type { EnvdContext } from "./context.js";
import { createLogger, type Logger } from "./logger.js";
import { createEnvdState } from "./state.js";
import { createUserDb } from "./users.js";
import { loadUserFs } from "./user-fs.js";
import { createHttpRoutes } from "./http/index.js";
import { sendError, sendThrown, writeHead, type HttpRequest, type HttpResponse } from "./http/respond.js";
import { createProcessService } from "./services/process/index.js";
import { createFilesystemService } from "./services/filesystem/index.js";

export interface EnvdServer {
  /** Resolves once the port accepts connections. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, ends open streams, kills started processes and watchers. */
  close(): Promise<void>;
  readonly context: EnvdContext;
}

export interface EnvdServerOptions {
  logger?: Logger;
}

/** HTTP/2 connection preface; a first packet starting with it is h2c with prior knowledge. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** How long after the first /health envd waits for an /init before it warms up anyway. */
const IDLE_WARM_UP_MS = 25;

export function createEnvdServer(config: EnvdConfig, options: EnvdServerOptions = {}): EnvdServer {
  const log = options.logger ?? createLogger({ level: config.logLevel });
  const context: EnvdContext = {
    config,
    state: createEnvdState({
      accessToken: config.accessToken,
      defaultUser: config.defaultUser,
      defaultWorkdir: config.defaultWorkdir,
    }),
    users: createUserDb(config.root),
    log,
    fsAs: loadUserFs(config.userFsAddon),
    spawner: createHelperSpawner(config.spawnHelper),
  };

  const processService = createProcessService(context);
  const filesystemService = createFilesystemService(context);
  const rpc = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      router.service(Process, processService.impl);
      router.service(Filesystem, filesystemService.impl);
    },
  });
  const routes = createHttpRoutes();
  const postInitRoute = routes.get("POST /init");
  const healthRoute = routes.get("GET /health");
  let warmed = false;
  /**
   * Loads what the first RPC would otherwise load on its caller's time (undici behind Connect's
   * Headers, node:http2) and starts the spawner's helper. Not at start: the node waits for
   * /health and /init, and ~30 ms of loading would delay both. So right after the first /init
   * answered, or a moment after the first /health when no /init follows (a pooled sandbox).
   */
  const warmUp = () => {
    if (warmed) return;
    warmed = true;
    new Headers();
    h2Server();
    context.spawner.prepare();
  };

  const handle = (req: HttpRequest, res: HttpResponse): void => {
    res.setHeader("access-control-allow-origin", "*");
    const url = new URL(req.url ?? "/", "http://envd");
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      writeHead(res, 204, {
        "access-control-allow-methods": "*",
        "access-control-allow-headers": "*",
        "access-control-expose-headers": "*",
        "access-control-max-age": "7200",
      });
      res.end();
      return;
    }
    const token = headerValue(req.headers["x-access-token"]);
    if (!isAuthorized(context.state, method, url.pathname, token)) {
      sendError(res, 401, UNAUTHORIZED_MESSAGE);
      return;
    }
    const route = routes.get(`${method} ${url.pathname}`);
    if (!warmed && route === postInitRoute) res.once("finish", () => setImmediate(warmUp));
    // A pooled sandbox is checked for health long before its /init: warm up while it waits.
    else if (!warmed && route === healthRoute) res.once("finish", () => setTimeout(warmUp, IDLE_WARM_UP_MS).unref());
    if (route) {
      route(req, res, context, url).catch((err: unknown) => sendThrown(res, context, err));
      return;
    }
    rpc(req, res);
  };

  const h1 = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 640_000 }, handle);
  // node:http2 (with tls and crypto) costs ~20 ms at start, and HTTP/1.1
  // clients (the /health poll, the SDK's default transport) never need it.
  let h2: Http2Server | undefined;
  const h2Server = (): Http2Server => {
    h2 ??= process.getBuiltinModule("node:http2").createServer({}, handle);
    return h2;
  };
  const sockets = new Set<net.Socket>();
  // One port for HTTP/1.1 and cleartext HTTP/2: peek at the first bytes.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first) => {
      socket.pause();
      socket.unshift(first);
      const isH2 = first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE);
      if (isH2) {
        // The http2 session reads the unshifted bytes from the socket buffer itself.
        h2Server().emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
    socket.on("error", () => socket.destroy());
  });

  return {
    context,
    listen() {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(config.port, config.host, () => {
          tcp.off("error", reject);
          resolve(tcp.address() as AddressInfo);
        });
      });
    },
    async close() {
      // A warm-up still scheduled (25 ms after a /health) must not start a helper after the close.
      warmed = true;
      await Promise.allSettled([processService.close(), filesystemService.close()]);
      // After the kills above: the helper exits once the processes it runs are gone.
      context.spawner.close();
      await new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        h1.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
