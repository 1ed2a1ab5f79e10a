import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Database } from "./db/schema.js";
import type { ApiError } from "./errors.js";
import { authHook } from "./http/auth.js";
import { noRoute, sendError, toApiError } from "./http/error-reply.js";
import { registerDocs } from "./http/docs.js";
import { registerE2bRoutes } from "./http/e2b-routes.js";
import { createExecSocket } from "./http/exec-ws.js";
import { registerMetricsRoutes } from "./http/metrics-routes.js";
import { registerNativeRoutes } from "./http/native-routes.js";
import { registerTemplateRoutes } from "./http/template-routes.js";
import { registerTemplateTagRoutes } from "./http/template-tag-routes.js";
import { createBuildRegistry } from "./templates/builds.js";
import { type BuildFilesGateway, createUploadLinks } from "./templates/upload-links.js";
import { checkParams, checkQuery } from "./http/validate.js";
import { startMetricsCollector, type MetricsCollector } from "./metrics/collector.js";
import { createMetricsStore } from "./metrics/store.js";
import { createSandboxService, type SandboxService } from "./sandboxes/service.js";
import { createSandboxStore } from "./sandboxes/store.js";
import { startSync, type Sync } from "./sandboxes/sync.js";

export interface ApiOptions {
  db: Kysely<Database>;
  node: NodeClient;
  /** Where template builds' COPY files go (the node's PUT /build-files); default: builds with COPY steps fail. */
  buildFiles?: BuildFilesGateway;
  logger: Logger;
  /** Domain the SDK derives sandbox hosts from; null when clients use one gateway URL. */
  domain?: string | null;
  /** Concurrent running sandboxes per team without a limit of its own. Default 20. */
  defaultSandboxLimit?: number;
  /** Longest sandbox lifetime a caller may ask for. Default 24 h. */
  maxTimeoutSeconds?: number;
  /** Reconcile with the node this often (ms). Default 60 s. */
  reconcileEveryMs?: number;
  metrics?: {
    /** How long a killed sandbox's metrics are kept (s). Default 7 days. */
    retentionSeconds?: number;
    /** Fetch the node's samples this often (ms). Default 5 s. */
    collectEveryMs?: number;
    /** Prune history past the retention this often (ms). Default 10 min. */
    pruneEveryMs?: number;
  };
}

export interface Api {
  app: FastifyInstance;
  service: SandboxService;
  sync: Sync;
  metrics: MetricsCollector;
  /** Serves one HTTP request (what a gateway or the api's own server calls). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The sandbox a signed file URL (SDK download/upload) is for; undefined when none. */
  findBySignedUrl(url: URL, method: string): Promise<string | undefined>;
  /** WebSocket upgrades the api serves (streaming exec); false when the request is not one. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): Promise<void>;
}

export const DEFAULT_METRICS_RETENTION_SECONDS = 7 * 86_400;

// Reachable without a key: health, the OpenAPI document and its UI, and build-file upload links (signed).
const PUBLIC = /^\/(health|openapi\.yaml|docs(\/.*)?|build-files\/[^?]*)(\?.*)?$/;

/** The control plane as a Fastify app (not listening: the caller serves it, alone or beside the proxy). */
export async function createApi(options: ApiOptions): Promise<Api> {
  const { db, node, logger } = options;
  const domain = options.domain ?? null;
  const store = createSandboxStore(db);
  const service = createSandboxService({
    store,
    node,
    logger,
    defaultSandboxLimit: options.defaultSandboxLimit ?? 20,
    maxTimeoutSeconds: options.maxTimeoutSeconds ?? 86_400,
  });
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    // Per-request lines would dominate the log at SDK request rates; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    // Sandbox ids are [a-z0-9]; anything longer than this in a path is not a route of ours.
    routerOptions: { maxParamLength: 200 },
    // Bad percent-encodings and over-long ids are answered before any hook runs: in our shapes too.
    frameworkErrors: (err, req, reply) => sendError(req, reply, toApiError(err, req)),
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => sendError(req, reply, toApiError(err, req)));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, noRoute(req)));

  const auth = authHook(db);
  app.addHook("onRequest", async (req, reply) => {
    if (PUBLIC.test(req.url)) return;
    await auth(req, reply);
    // After the key: a caller without one learns nothing about which ids are well-formed.
    checkParams(req.params);
    checkQuery(req.query);
  });

  app.get("/health", async (_req, reply) => reply.type("text/plain").send("OK"));
  registerDocs(app);
  const metricsStore = createMetricsStore(db);
  registerE2bRoutes(app, { service, node, domain });
  registerNativeRoutes(app, { db, service, node });
  registerMetricsRoutes(app, metricsStore);
  const builds = createBuildRegistry(node, logger);
  registerTemplateRoutes(app, { node, builds, files: options.buildFiles ?? noBuildFiles, links: createUploadLinks() });
  registerTemplateTagRoutes(app, node);
  const execSocket = createExecSocket({ db, service, logger });

  const sync = startSync({ node, service, store, logger, ...(options.reconcileEveryMs ? { reconcileEveryMs: options.reconcileEveryMs } : {}) });
  const metrics = startMetricsCollector({
    node,
    store: metricsStore,
    logger,
    collectEveryMs: options.metrics?.collectEveryMs ?? 5000,
    retentionMs: (options.metrics?.retentionSeconds ?? DEFAULT_METRICS_RETENTION_SECONDS) * 1000,
    pruneEveryMs: options.metrics?.pruneEveryMs ?? 600_000,
  });
  await app.ready();

  return {
    app,
    service,
    sync,
    metrics,
    handle: (req, res) => app.routing(req, res),
    findBySignedUrl: (url, method) => service.findBySignedUrl(url, method),
    handleUpgrade: (req, socket, head) => execSocket.handleUpgrade(req, socket, head),
    async close() {
      execSocket.close();
      builds.close();
      await metrics.stop();
      await sync.stop();
      await app.close();
    },
  };
}

/** An api without a node file store (tests of the route table): COPY files have nowhere to go. */
const noBuildFiles: BuildFilesGateway = {
  has: async () => false,
  put: async () => {
    throw new Error("this api has no node to store build files on");
  },
};
