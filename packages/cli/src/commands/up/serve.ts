import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import {
  authenticate,
  createApi,
  createDatabase,
  createSandboxService,
  createSandboxStore,
  createTeamWithKey,
  loadApiConfig,
  migrate,
  readNodeSecret,
  type Api,
  type ApiConfig,
  type Database,
} from "@cove/api";
import { loadNodeConfig } from "@cove/node";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { createProxy, type Proxy } from "@cove/proxy";
import type { Interceptor } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import { defaultEnvdRuntimeDir } from "../node/run.js";
import { ensureBaseTemplate } from "../template/build.js";
import { createGateway, defaultDomain, publicUrl, reservePort, type Gateway } from "./gateway.js";
import { startNodeChild, type NodeChild } from "./node-child.js";

export interface ServeFlags {
  port?: string;
  host?: string;
  listen?: string;
  dataDir?: string;
  databaseUrl?: string;
  nodeUrl?: string;
  domain?: string;
  poolSize?: string;
  runtime?: string;
  logLevel?: string;
  killOnExit?: boolean;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

function openDatabase(config: ApiConfig): Kysely<Database> {
  return createDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, "db") });
}

/** The admin team's key, kept in the data dir (0600) so a restart prints the same one. */
async function adminKey(db: Kysely<Database>, dataDir: string): Promise<{ key: string; created: boolean }> {
  const file = join(dataDir, "admin-api-key");
  const saved = (await readFile(file, "utf8").catch(() => "")).trim();
  if (saved !== "" && (await authenticate(db, saved, "api_key")) !== undefined) return { key: saved, created: false };
  const { apiKey } = await createTeamWithKey(db, "admin", { isAdmin: true });
  await writeFile(file, `${apiKey}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { key: apiKey, created: true };
}

function proxyFor(api: Pick<Api, "service">, domain: string | undefined, log: Logger): Proxy {
  return createProxy({
    resolver: { resolve: (id, port) => api.service.route(id, port) },
    onPaused: (id) => api.service.wake(id),
    logger: log,
    ...(domain ? { domain } : {}),
  });
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let watch: NodeJS.Timeout | undefined;
    const first = (signal: NodeJS.Signals) => {
      clearInterval(watch);
      process.once("SIGINT", () => process.exit(130));
      process.once("SIGTERM", () => process.exit(143));
      resolve(signal);
    };
    process.once("SIGTERM", first);
    process.once("SIGINT", first);
    // Under npx, a SIGTERM sent to npx ends npx without passing it on; we would be left running.
    // So when npx launched us and goes away, take it as the SIGTERM it did not forward.
    if (process.env.npm_command === "exec") {
      const launcher = process.ppid;
      watch = setInterval(() => {
        if (process.ppid !== launcher) first("SIGTERM");
      }, 250);
      watch.unref();
    }
  });
}

/** Runs every step even when one fails; reports how long each took (a slow shutdown should say where). */
async function shutdown(steps: [string, () => Promise<unknown>][], log: Logger): Promise<string> {
  const took: string[] = [];
  for (const [what, step] of steps) {
    const started = Date.now();
    try {
      await step();
    } catch (err) {
      log.error({ err }, `shutdown: ${what} failed`);
    }
    took.push(`${what} ${Date.now() - started} ms`);
  }
  log.flush();
  return took.join(", ");
}

/** Logs go to stderr (stdout carries the export lines); children name their part with `svc`. */
function logger(level: string, svc?: string): Logger {
  return pino({ level, base: svc ? { svc } : {} }, pino.destination({ dest: 2, sync: false }));
}

function closeSteps(
  gateway: Gateway | undefined,
  api: Api | undefined,
  proxy: Proxy | undefined,
  db: Kysely<Database> | undefined,
  node: NodeChild | undefined,
): [string, () => Promise<unknown>][] {
  return [
    ["gateway", async () => gateway?.close()],
    ["proxy", async () => proxy?.close()],
    ["api", async () => api?.close()],
    ["node", async () => node?.stop()],
    ["database", async () => db?.destroy()],
  ];
}

export async function upCommand(flags: ServeFlags): Promise<void> {
  // Said here, once, before anything starts (the node would say it from its own process).
  if (process.getuid?.() !== 0) throw new Error("cove up must run as root: its node makes namespaces, mounts, cgroups and nftables rules (try sudo)");
  const apiConfig = loadApiConfig(flags, process.env);
  const nodeConfig = loadNodeConfig(
    { dataDir: apiConfig.dataDir, listen: process.env.COVE_NODE_LISTEN ?? "127.0.0.1:0", poolSize: flags.poolSize, runtime: flags.runtime, logLevel: apiConfig.logLevel },
    process.env,
    { envdRuntimeDir: defaultEnvdRuntimeDir() },
  );
  const log = logger(apiConfig.logLevel);
  const port = await reservePort(apiConfig.listenPort, apiConfig.listenHost);
  const domain = apiConfig.domain ?? defaultDomain(apiConfig.listenHost, port);
  say(`cove up: data dir ${apiConfig.dataDir}`);

  await ensureBaseTemplate(nodeConfig, (line) => say(`cove up: ${line}`));

  // The node's own config is validated here too, so a bad flag fails before anything starts.
  const node = await startNodeChild({
    dataDir: nodeConfig.dataDir,
    poolSize: flags.poolSize,
    runtime: flags.runtime,
    logLevel: apiConfig.logLevel,
    killOnExit: flags.killOnExit ?? false,
    port: nodeConfig.listenPort,
    logger: log.child({ svc: "up" }),
  });
  const steps: [string, () => Promise<unknown>][] = [];
  let gateway: Gateway | undefined;
  let api: Api | undefined;
  let proxy: Proxy | undefined;
  let db: Kysely<Database> | undefined;
  try {
    say(
      `cove up: node ready (${node.ready.runtime}, cgroups ${node.ready.cgroupMode}; re-adopted ${node.ready.recovered} sandbox(es); node API http://${node.ready.host}:${node.ready.port})`,
    );
    db = openDatabase(apiConfig);
    await migrate(db);
    const admin = await adminKey(db, apiConfig.dataDir);
    // While a crashed node is being restarted, calls wait for it (up to 30 s) rather than fail.
    const waitForNode: Interceptor = (next) => async (req) => {
      await node.whenReady(30_000);
      return next(req);
    };
    const nodeClient = createNodeClient({ baseUrl: `http://${node.ready.host}:${node.ready.port}`, secret: node.ready.secret, interceptors: [waitForNode] });
    api = await createApi({
      db,
      node: nodeClient,
      logger: log.child({ svc: "api" }),
      domain: domain ?? null,
      defaultSandboxLimit: apiConfig.defaultSandboxLimit,
      maxTimeoutSeconds: apiConfig.maxTimeoutSeconds,
    });
    await api.sync.ready;
    proxy = proxyFor(api, domain, log.child({ svc: "proxy" }));
    gateway = createGateway({ api, proxy, domain });
    const at = await gateway.listen(port, apiConfig.listenHost);
    const url = publicUrl(at.host, at.port);
    say(`cove up: ${admin.created ? "created the admin team and its API key" : "reusing the admin API key"} (${join(apiConfig.dataDir, "admin-api-key")})`);
    say(`cove up: ready on ${url} (API reference at ${url}/docs); Ctrl-C stops ${flags.killOnExit ? "and kills sandboxes" : "and keeps sandboxes"}`);
    process.stdout.write(`export E2B_API_URL=${url}\nexport E2B_SANDBOX_URL=${url}\nexport E2B_API_KEY=${admin.key}\n`);
  } catch (err) {
    await shutdown(closeSteps(gateway, api, proxy, db, node), log);
    throw err;
  }
  const signal = await untilSignal();
  say(`cove up: ${signal}, shutting down (${flags.killOnExit ? "killing" : "keeping"} sandboxes)`);
  steps.push(...closeSteps(gateway, api, proxy, db, node));
  say(`cove up: stopped (${await shutdown(steps, log)})`);
  // Everything is closed; a keep-alive socket or timer some library still holds must not
  // keep the process up (seen: up to a minute after a long test run).
  process.exit(process.exitCode ?? 0);
}

export async function apiCommand(flags: ServeFlags): Promise<void> {
  const config = loadApiConfig(flags, process.env);
  const log = logger(config.logLevel, "api");
  const db = openDatabase(config);
  await migrate(db);
  const admin = await adminKey(db, config.dataDir);
  const node = createNodeClient({ baseUrl: config.nodeUrl, secret: await readNodeSecret(config) });
  const api = await createApi({ db, node, logger: log, domain: config.domain ?? null, defaultSandboxLimit: config.defaultSandboxLimit, maxTimeoutSeconds: config.maxTimeoutSeconds });
  const gateway = createGateway({ api });
  const at = await gateway.listen(config.listenPort, config.listenHost);
  say(`cove api: ready on ${publicUrl(at.host, at.port)} (node ${config.nodeUrl})`);
  process.stdout.write(`export E2B_API_URL=${publicUrl(at.host, at.port)}\nexport E2B_API_KEY=${admin.key}\n`);
  await untilSignal();
  await shutdown(closeSteps(gateway, api, undefined, db, undefined), log);
}

export async function proxyCommand(flags: ServeFlags): Promise<void> {
  const config = loadApiConfig({ ...flags, listen: flags.listen ?? process.env.COVE_PROXY_LISTEN }, process.env, { listen: "127.0.0.1:3001" });
  if (!config.databaseUrl) {
    // PGlite is single-process: the proxy alone can only share records through a server.
    throw new Error("cove proxy needs the api's Postgres server (--database-url or DATABASE_URL); `cove up` runs both in one process instead");
  }
  const log = logger(config.logLevel, "proxy");
  const db = openDatabase(config);
  const node: NodeClient = createNodeClient({ baseUrl: config.nodeUrl, secret: await readNodeSecret(config) });
  const service = createSandboxService({ store: createSandboxStore(db), node, logger: log, defaultSandboxLimit: 0, maxTimeoutSeconds: 1 });
  const proxy = proxyFor({ service }, config.domain, log);
  const gateway = createGateway({ proxy, domain: config.domain });
  const at = await gateway.listen(config.listenPort, config.listenHost);
  say(`cove proxy: ready on ${publicUrl(at.host, at.port)}`);
  process.stdout.write(`export E2B_SANDBOX_URL=${publicUrl(at.host, at.port)}\n`);
  await untilSignal();
  await shutdown(closeSteps(gateway, undefined, proxy, db, undefined), log);
}
