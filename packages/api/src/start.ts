import { chmod, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { createApi, type Api } from "./app.js";
import { authenticate, createTeamWithKey } from "./auth/keys.js";
import { readNodeSecret, type ApiConfig } from "./config.js";
import { createDatabase, migrate } from "./db/database.js";
import type { Database } from "./db/schema.js";
import { createNodeBuildFiles } from "./templates/node-build-files.js";
import type { BuildFilesGateway } from "./templates/upload-links.js";
import { ApiError } from "./errors.js";

export interface StartApiOptions {
  /** How to reach the node; default a client for `config.nodeUrl` with the secret from config or the data dir. */
  node?: NodeClient;
  /** Where builds' COPY files go; default the node at `config.nodeUrl`. */
  buildFiles?: BuildFilesGateway;
  /**
   * Default true: serve on `config.listenHost:listenPort`. false: the caller serves
   * `api.handle` itself (`cove up`'s gateway shares one port with the proxy).
   */
  listen?: boolean;
}

export interface AdminKey {
  key: string;
  /** True when this start made the admin team (first start on this database). */
  created: boolean;
  /** Where the key is kept (0600). */
  file: string;
}

export interface RunningApi {
  api: Api;
  db: Kysely<Database>;
  adminKey: AdminKey;
  /** Where it listens; undefined with `listen: false`. */
  address: { host: string; port: number } | undefined;
  /** Stops accepting, answers the requests in flight, closes the api, then the database. */
  close(): Promise<void>;
}

/** The api as a running service: database opened and migrated, the admin key in place, serving. */
export async function startApi(config: ApiConfig, log: Logger, options: StartApiOptions = {}): Promise<RunningApi> {
  const db = createDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, "db") });
  let api: Api | undefined;
  let server: ApiServer | undefined;
  try {
    await migrate(db);
    const adminKey = await ensureAdminKey(db, config.dataDir);
    const node = options.node ?? createNodeClient({ baseUrl: config.nodeUrl, secret: await readNodeSecret(config) });
    const buildFiles = options.buildFiles ?? (options.node ? undefined : createNodeBuildFiles(config.nodeUrl, await readNodeSecret(config)));
    api = await createApi({
      db,
      node,
      ...(buildFiles ? { buildFiles } : {}),
      logger: log,
      domain: config.domain ?? null,
      defaultSandboxLimit: config.defaultSandboxLimit,
      maxTimeoutSeconds: config.maxTimeoutSeconds,
      metrics: { retentionSeconds: config.metricsRetentionSeconds },
    });
    server = options.listen === false ? undefined : createApiServer(api);
    const address = await server?.listen(config.listenPort, config.listenHost);
    const started = api;
    const serving = server;
    return {
      api: started,
      db,
      adminKey,
      address,
      async close() {
        try {
          await serving?.close();
          await started.close();
        } finally {
          await db.destroy();
        }
      },
    };
  } catch (err) {
    await server?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
}

/** The admin team's key, kept in the data dir (0600) so a restart prints the same one. */
async function ensureAdminKey(db: Kysely<Database>, dataDir: string): Promise<AdminKey> {
  const file = join(dataDir, "admin-api-key");
  const saved = (await readFile(file, "utf8").catch(() => "")).trim();
  if (saved !== "" && (await authenticate(db, saved, "api_key")) !== undefined) return { key: saved, created: false, file };
  const { apiKey } = await createTeamWithKey(db, "admin", { isAdmin: true });
  await writeFile(file, `${apiKey}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { key: apiKey, created: true, file };
}

interface ApiServer {
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/**
 * `cove api` alone: every request is an api request, and each one in flight at close is
 * answered (a create that runs on must reach its caller). WebSockets are the api's to close.
 */
function createApiServer(api: Api): ApiServer {
  const inFlight = new Set<http.ServerResponse>();
  let closing = false;
  let drained: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    inFlight.add(res);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      inFlight.delete(res);
      if (inFlight.size === 0) drained?.();
    });
    api.handle(req, res);
  });
  // Process output can stream for as long as the process runs.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!api.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) =>
          reject(err.code === "EADDRINUSE" ? new ApiError("unavailable", `${host}:${port} is already in use; choose another address with --listen`) : err);
        server.once("error", failed);
        server.listen(port, host, () => {
          server.off("error", failed);
          const a = server.address();
          resolve(typeof a === "object" && a !== null ? { host, port: a.port } : { host, port });
        });
      });
    },
    async close() {
      closing = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      server.close();
      server.closeIdleConnections();
      if (inFlight.size > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeAllConnections();
    },
  };
}
