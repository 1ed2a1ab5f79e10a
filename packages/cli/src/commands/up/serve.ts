import type { Logger } from "pino";
import {
  createDatabase,
  createNodeBuildFiles,
  createSandboxService,
  createSandboxStore,
  loadApiConfig,
  readNodeSecret,
  startApi,
  type Api,
  type RunningApi,
} from "@cove/api";
import { loadNodeConfig } from "@cove/node";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { createGateway, createProxy, type Gateway, type Proxy } from "@cove/proxy";
import type { Interceptor } from "@connectrpc/connect";
import { createLogger, printLine } from "../../stdio.js";
import { defaultEnvdRuntimeDir } from "../node/run.js";
import { checkPrebuild, ensureBaseTemplate, prebuildTemplates } from "../template/build.js";
import { defaultDomain, publicUrl, reservePort } from "./addresses.js";
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
  poolMax?: string;
  runtime?: string;
  prebuild?: string;
  logLevel?: string;
  killOnExit?: boolean;
}

const say = (line: string) => {
  if (process.stderr.writable) process.stderr.write(`${line}\n`);
};

/** How long API calls wait for a node that `cove up` is restarting. */
const NODE_RESTART_WAIT_MS = 30_000;

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

type Step = [string, () => Promise<unknown>];

/** Runs every step even when one fails; reports how long each took (a slow shutdown should say where). */
async function shutdown(steps: Step[], log: Logger): Promise<string> {
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

/** In order: stop taking traffic (answering what is in flight), then the parts behind it. */
function closeSteps(parts: {
  gateway?: Gateway | undefined;
  proxy?: Proxy | undefined;
  api?: RunningApi | undefined;
  node?: NodeChild | undefined;
  more?: Step[];
}): Step[] {
  return [
    ["gateway", async () => parts.gateway?.close()],
    ["proxy", async () => parts.proxy?.close()],
    ["api", async () => parts.api?.close()],
    ["node", async () => parts.node?.stop()],
    ...(parts.more ?? []),
  ];
}

export async function upCommand(flags: ServeFlags): Promise<void> {
  // Said here, once, before anything starts (the node would say it from its own process).
  if (process.getuid?.() !== 0) throw new Error("cove up must run as root: its node makes namespaces, mounts, cgroups and nftables rules (try sudo)");
  const apiConfig = loadApiConfig(flags, process.env);
  // Checked before anything is built or started.
  const prebuild = await checkPrebuild(flags.prebuild ?? process.env.COVE_PREBUILD ?? "");
  // The node's own config is validated here too, so a bad flag fails before anything starts.
  const nodeConfig = loadNodeConfig(
    {
      dataDir: apiConfig.dataDir,
      listen: process.env.COVE_NODE_LISTEN ?? "127.0.0.1:0",
      poolSize: flags.poolSize,
      poolMax: flags.poolMax,
      runtime: flags.runtime,
      logLevel: apiConfig.logLevel,
    },
    process.env,
    { envdRuntimeDir: defaultEnvdRuntimeDir() },
  );
  const log = createLogger(apiConfig.logLevel);
  const reservation = await reservePort(apiConfig.listenPort, apiConfig.listenHost);
  const port = reservation.port;
  const domain = apiConfig.domain ?? defaultDomain(apiConfig.listenHost, port);
  say(`cove up: data dir ${apiConfig.dataDir}`);

  await ensureBaseTemplate(nodeConfig, (line) => say(`cove up: ${line}`));
  await prebuildTemplates(nodeConfig, prebuild, (line) => say(`cove up: ${line}`));
  // The port stays reserved while the node starts: seen in CI, the node's own free port was
  // the one just probed. (Unreferenced, the reservation does not keep a failed start alive.)
  const node = await startNodeChild({
    dataDir: nodeConfig.dataDir,
    poolSize: flags.poolSize,
    poolMax: flags.poolMax,
    runtime: flags.runtime,
    logLevel: apiConfig.logLevel,
    killOnExit: flags.killOnExit ?? false,
    port: nodeConfig.listenPort,
    logger: log.child({ svc: "up" }),
  });
  let gateway: Gateway | undefined;
  let api: RunningApi | undefined;
  let proxy: Proxy | undefined;
  try {
    say(
      `cove up: node ready (${node.ready.runtime}, cgroups ${node.ready.cgroupMode}; re-adopted ${node.ready.recovered} sandbox(es); node API http://${node.ready.host}:${node.ready.port})`,
    );
    // While a crashed node is being restarted, calls wait for it rather than fail.
    const waitForNode: Interceptor = (next) => async (req) => {
      await node.whenReady(NODE_RESTART_WAIT_MS);
      return next(req);
    };
    const nodeClient = createNodeClient({ baseUrl: `http://${node.ready.host}:${node.ready.port}`, secret: node.ready.secret, interceptors: [waitForNode] });
    // The gateway below serves the api and the proxy on one port.
    const buildFiles = createNodeBuildFiles(`http://${node.ready.host}:${node.ready.port}`, node.ready.secret);
    api = await startApi({ ...apiConfig, domain }, log.child({ svc: "api" }), { node: nodeClient, buildFiles, listen: false });
    await api.api.sync.ready;
    proxy = proxyFor(api.api, domain, log.child({ svc: "proxy" }));
    gateway = createGateway({ api: api.api, proxy, domain });
    await reservation.release();
    const at = await gateway.listen(port, apiConfig.listenHost);
    const url = publicUrl(at.host, at.port);
    say(`cove up: ${api.adminKey.created ? "created the admin team and its API key" : "reusing the admin API key"} (${api.adminKey.file})`);
    say(`cove up: ready on ${url} (API reference at ${url}/docs); Ctrl-C stops ${flags.killOnExit ? "and kills sandboxes" : "and keeps sandboxes"}`);
    printLine(`export E2B_API_URL=${url}\nexport E2B_SANDBOX_URL=${url}\nexport E2B_API_KEY=${api.adminKey.key}`);
  } catch (err) {
    await shutdown(closeSteps({ gateway, proxy, api, node }), log);
    throw err;
  }
  const signal = await untilSignal();
  say(`cove up: ${signal}, shutting down (${flags.killOnExit ? "killing" : "keeping"} sandboxes)`);
  say(`cove up: stopped (${await shutdown(closeSteps({ gateway, proxy, api, node }), log)})`);
  // Everything is closed; a keep-alive socket or timer some library still holds must not
  // keep the process up (seen: up to a minute after a long test run).
  process.exit(process.exitCode ?? 0);
}

export async function apiCommand(flags: ServeFlags): Promise<void> {
  const config = loadApiConfig(flags, process.env);
  const log = createLogger(config.logLevel, "api");
  const api = await startApi(config, log);
  const url = publicUrl(api.address?.host ?? config.listenHost, api.address?.port ?? config.listenPort);
  say(`cove api: ready on ${url} (node ${config.nodeUrl})`);
  printLine(`export E2B_API_URL=${url}\nexport E2B_API_KEY=${api.adminKey.key}`);
  await untilSignal();
  await shutdown(closeSteps({ api }), log);
}

export async function proxyCommand(flags: ServeFlags): Promise<void> {
  const config = loadApiConfig({ ...flags, listen: flags.listen ?? process.env.COVE_PROXY_LISTEN }, process.env, { listen: "127.0.0.1:3001" });
  if (!config.databaseUrl) {
    // PGlite is single-process: the proxy alone can only share records through a server.
    throw new Error("cove proxy needs the api's Postgres server (--database-url or DATABASE_URL); `cove up` runs both in one process instead");
  }
  const log = createLogger(config.logLevel, "proxy");
  // Routes come from the api's records and the node, read through the api's sandbox service.
  const db = createDatabase({ url: config.databaseUrl });
  const node: NodeClient = createNodeClient({ baseUrl: config.nodeUrl, secret: await readNodeSecret(config) });
  const service = createSandboxService({ store: createSandboxStore(db), node, logger: log, defaultSandboxLimit: 0, maxTimeoutSeconds: 1 });
  const proxy = proxyFor({ service }, config.domain, log);
  const gateway = createGateway({ proxy, domain: config.domain });
  const at = await gateway.listen(config.listenPort, config.listenHost);
  say(`cove proxy: ready on ${publicUrl(at.host, at.port)}`);
  printLine(`export E2B_SANDBOX_URL=${publicUrl(at.host, at.port)}`);
  await untilSignal();
  await shutdown(closeSteps({ gateway, proxy, more: [["database", () => db.destroy()]] }), log);
}
