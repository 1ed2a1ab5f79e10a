import { setMaxListeners } from "node:events";
import http from "node:http";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { NodeTemplateBuilder } from "../builds/node-builder.js";
import type { MetricSample } from "../metrics/sampler.js";
import type { WarmPoolStats } from "../sandbox/pool.js";
import type { SandboxService } from "../sandbox/types.js";
import { createBearerAuth } from "./auth.js";
import { receiveBuildFiles } from "./build-files-route.js";
import { consoleLogger, createNodeApiRoutes, type NodeApiRoutesOptions } from "./routes.js";
import type { NodeApiLogger, NodeInfo, TemplateSummary } from "./types.js";

export interface NodeApiServerOptions {
  service: SandboxService;
  info: () => NodeInfo;
  /** Built templates; default none. */
  templates?: () => Promise<TemplateSummary[]>;
  /** Shared with the api and the proxy; every request must send `Authorization: Bearer <secret>`. */
  secret: string;
  /** Default 127.0.0.1: exposing the node API beyond the host is an explicit choice. */
  host?: string;
  /** Default 0: any free port (listen() reports it). */
  port?: number;
  logger?: NodeApiLogger;
  /** The warm pool's state for GetWarmPool; omitted = no pool. */
  warmPool?: () => WarmPoolStats;
  /** Resource samples after a cursor, for ListMetrics; omitted = none. */
  metrics?: (after: bigint) => { samples: MetricSample[]; cursor: bigint };
  /** Template builds (BuildTemplate and the build-files upload); omitted = neither. */
  builder?: NodeTemplateBuilder;
  /** DeleteTemplate; omitted = unimplemented. */
  deleteTemplate?: (templateId: string, owner?: string) => Promise<void>;
  /** Template tags and visibility; omitted = unimplemented. */
  templateTags?: NodeApiRoutesOptions["templateTags"];
  /** How long close() lets unary calls in flight finish before cutting connections. Default 5000. */
  closeGraceMs?: number;
}

export interface NodeApiServer {
  listen(): Promise<{ host: string; port: number }>;
  /** Ends open WatchEvents streams, stops accepting, waits for calls in flight (up to closeGraceMs). */
  close(): Promise<void>;
}

/** The node API on node:http, HTTP/1.1: no RPC streams from the client, so HTTP/2 buys nothing here. */
export function createNodeApiServer(options: NodeApiServerOptions): NodeApiServer {
  const log = options.logger ?? consoleLogger;
  // Aborting this aborts every handler context's signal, which ends the watch streams.
  const shutdown = new AbortController();
  // Connect links each call's context to this signal (one 'abort' listener per call in flight,
  // removed when the call ends), so the count is the calls in flight, not a leak; the default
  // cap of 10 made every 11th concurrent create log a MaxListenersExceededWarning.
  setMaxListeners(0, shutdown.signal);
  const handler = connectNodeAdapter({
    routes: createNodeApiRoutes(
      options.service,
      options.info,
      {
        logger: log,
        ...(options.warmPool ? { warmPool: options.warmPool } : {}),
        ...(options.metrics ? { metrics: options.metrics } : {}),
        ...(options.builder ? { builder: options.builder } : {}),
        ...(options.deleteTemplate ? { deleteTemplate: options.deleteTemplate } : {}),
        ...(options.templateTags ? { templateTags: options.templateTags } : {}),
      },
      options.templates,
    ),
    interceptors: [createBearerAuth(options.secret, log)],
    shutdownSignal: shutdown.signal,
    // Requests are small (ids, maps of env vars and metadata); refuse anything large.
    readMaxBytes: 1 << 20,
  });
  // Responses in flight. close() waits for these, then cuts every connection:
  // a keep-alive socket that goes idle after server.close() would otherwise
  // hold the close open until the keep-alive timeout.
  const inFlight = new Set<http.ServerResponse>();
  let drained: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      if (inFlight.size === 0) drained?.();
    });
    const upload = /^\/build-files\/([^/?]+)$/.exec(req.url ?? "");
    if (upload && options.builder) {
      void receiveBuildFiles(options.builder, options.secret, upload[1] ?? "", req, res, log);
      return;
    }
    handler(req, res);
  });
  const host = options.host ?? "127.0.0.1";

  return {
    listen() {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, host, () => {
          server.off("error", reject);
          const address = server.address();
          if (address === null || typeof address === "string") reject(new Error("node api: no TCP address"));
          else resolve({ host: address.address, port: address.port });
        });
      });
    },
    async close() {
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, options.closeGraceMs ?? 5000))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
