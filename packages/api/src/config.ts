import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseInteger, parseListen } from "@cove/protocol/config-values";
import { ApiError } from "./errors.js";

/** Everything `cove api` (and the api inside `cove up`) can be told. */
export interface ApiConfig {
  listenHost: string;
  listenPort: number;
  dataDir: string;
  /** A Postgres server; undefined = PGlite in `<dataDir>/db`. */
  databaseUrl: string | undefined;
  /** The node API's origin. */
  nodeUrl: string;
  /** undefined = read `<dataDir>/node-secret` (the node writes it there). */
  nodeSecret: string | undefined;
  /** Sandbox domain handed to SDKs (`{port}-{id}.{domain}`); undefined = none (single gateway URL). */
  domain: string | undefined;
  defaultSandboxLimit: number;
  maxTimeoutSeconds: number;
  /** How long a killed sandbox's metrics history is kept, in seconds. */
  metricsRetentionSeconds: number;
  logLevel: string;
}

export interface ApiFlags {
  listen?: string | undefined;
  port?: string | number | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  nodeUrl?: string | undefined;
  domain?: string | undefined;
  logLevel?: string | undefined;
}

const bad = (message: string) => new ApiError("invalid_argument", message);

function int(name: string, text: string, min: number, max: number): number {
  return parseInteger(name, text, min, max, bad);
}

/** Flags win over environment variables, which win over defaults; every option is in the operator guide. */
export function loadApiConfig(flags: ApiFlags, env: NodeJS.ProcessEnv, defaults: { listen: string } = { listen: "127.0.0.1:3000" }): ApiConfig {
  const listen = parseListen(flags.listen ?? env.COVE_API_LISTEN ?? defaults.listen, bad);
  if (flags.host !== undefined) listen.host = flags.host;
  if (flags.port !== undefined) listen.port = int("--port", String(flags.port), 0, 65535);
  const logLevel = flags.logLevel ?? env.COVE_LOG_LEVEL ?? "info";
  const nodeUrl = flags.nodeUrl ?? env.COVE_NODE_URL ?? "http://127.0.0.1:5008";
  if (!/^https?:\/\/[^/]+$/.test(nodeUrl)) throw bad(`node url must look like http://host:port, got '${nodeUrl}'`);
  const domain = flags.domain ?? env.COVE_DOMAIN;
  return {
    listenHost: listen.host,
    listenPort: listen.port,
    dataDir: resolve(flags.dataDir ?? env.COVE_DATA_DIR ?? ".cove"),
    databaseUrl: flags.databaseUrl ?? (env.DATABASE_URL || undefined),
    nodeUrl,
    nodeSecret: env.COVE_NODE_SECRET || undefined,
    domain: domain || undefined,
    defaultSandboxLimit: int("COVE_TEAM_SANDBOX_LIMIT", env.COVE_TEAM_SANDBOX_LIMIT ?? "20", 0, 100_000),
    maxTimeoutSeconds: int("COVE_MAX_SANDBOX_TIMEOUT", env.COVE_MAX_SANDBOX_TIMEOUT ?? "86400", 1, 49 * 86_400),
    metricsRetentionSeconds: int("COVE_METRICS_RETENTION", env.COVE_METRICS_RETENTION ?? String(7 * 86_400), 0, 366 * 86_400),
    logLevel,
  };
}

/** The node secret from config or from the file the node writes in the shared data dir. */
export async function readNodeSecret(config: Pick<ApiConfig, "nodeSecret" | "dataDir">): Promise<string> {
  if (config.nodeSecret) return config.nodeSecret;
  const file = join(config.dataDir, "node-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    throw bad(`no node secret: set COVE_NODE_SECRET or start the node with the same --data-dir (looked for ${file})`);
  }
}
