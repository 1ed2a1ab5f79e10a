import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Database } from "./db/schema.js";
import { ApiError, e2bErrorBody, nativeErrorBody } from "./errors.js";
import { authHook } from "./http/auth.js";
import { registerDocs } from "./http/docs.js";
import { registerE2bRoutes } from "./http/e2b-routes.js";
import { createExecSocket } from "./http/exec-ws.js";
import { registerNativeRoutes } from "./http/native-routes.js";
import { createSandboxService, type SandboxService } from "./sandboxes/service.js";
import { createSandboxStore } from "./sandboxes/store.js";
import { startSync, type Sync } from "./sandboxes/sync.js";

export interface ApiOptions {
  db: Kysely<Database>;
  node: NodeClient;
  logger: Logger;
  /** Domain the SDK derives sandbox hosts from; null when clients use one gateway URL. */
  domain?: string | null;
  /** Concurrent running sandboxes per team without a limit of its own. Default 20. */
  defaultSandboxLimit?: number;
  /** Longest sandbox lifetime a caller may ask for. Default 24 h. */
  maxTimeoutSeconds?: number;
  /** Reconcile with the node this often (ms). Default 60 s. */
  reconcileEveryMs?: number;
}

export interface Api {
  app: FastifyInstance;
  service: SandboxService;
  sync: Sync;
  /** WebSocket upgrades the api serves (streaming exec); false when the request is not one. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): Promise<void>;
}

// Connection-level failures (refused, reset, server shutting down or gone): the request was fine.
const DATABASE_DOWN = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08003", "08006"]);

function isDatabaseDown(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === "string" && DATABASE_DOWN.has(e.code)) return true;
    // pg reports a refused connection to a host with several addresses as an AggregateError.
    if (Array.isArray(e.errors) && e.errors.some(isDatabaseDown)) return true;
  }
  return false;
}

// Reachable without a key: health, the OpenAPI document and its UI.
const PUBLIC = /^\/(health|openapi\.yaml|docs(\/.*)?)(\?.*)?$/;

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
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if (isDatabaseDown(err)) {
      req.log.error({ err, url: req.url }, "database unavailable");
      apiErr = new ApiError("unavailable", "the database is unavailable; retry shortly", { retryAfterSeconds: 1 });
    }
    else if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      apiErr = new ApiError(err.statusCode === 413 ? "too_large" : "invalid_argument", err.message);
    } else {
      req.log.error({ err, url: req.url }, "request failed");
      apiErr = new ApiError("internal", "internal error");
    }
    if (apiErr.options.retryAfterSeconds !== undefined) reply.header("retry-after", String(apiErr.options.retryAfterSeconds));
    if (apiErr.status >= 500 && err instanceof ApiError) req.log.warn({ err, url: req.url }, "request failed");
    const native = req.url.startsWith("/v1/");
    return reply.code(apiErr.status).send(native ? nativeErrorBody(apiErr) : e2bErrorBody(apiErr));
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new ApiError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`);
    return reply.code(404).send(req.url.startsWith("/v1/") ? nativeErrorBody(err) : e2bErrorBody(err));
  });

  const auth = authHook(db);
  app.addHook("onRequest", async (req, reply) => {
    if (PUBLIC.test(req.url)) return;
    await auth(req, reply);
  });

  app.get("/health", async (_req, reply) => reply.type("text/plain").send("OK"));
  registerDocs(app);
  registerE2bRoutes(app, { service, node, domain });
  registerNativeRoutes(app, { db, service, node });
  const execSocket = createExecSocket({ db, service, logger });

  const sync = startSync({ node, service, store, logger, ...(options.reconcileEveryMs ? { reconcileEveryMs: options.reconcileEveryMs } : {}) });
  await app.ready();

  return {
    app,
    service,
    sync,
    handleUpgrade: (req, socket, head) => execSocket.handleUpgrade(req, socket, head),
    async close() {
      execSocket.close();
      await sync.stop();
      await app.close();
    },
  };
}
