import { createHash, randomBytes } from "node:crypto";
import { createNodeTemplateBuilder, type NodeTemplateBuilder } from "./builds/node-builder.js";
import { constants, existsSync } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENVD_VERSION } from "@cove/protocol/envd";
import { templateSummary } from "./api/convert.js";
import { createNodeApiServer } from "./api/server.js";
import type { NodeInfo } from "./api/types.js";
import type { NodeConfig } from "./config.js";
import { NodeError } from "./errors.js";
import { createHelperSpawner, type Spawner } from "@cove/protocol/spawner";
import { createMetricsSampler } from "./metrics/sampler.js";
import { createHostUsageReader } from "./metrics/usage.js";
import { createNetworkManager, hostDnsServers } from "./network/index.js";
import { createNodeProcViews, type ProcViewsStatus, withProcViews } from "./proc-views/index.js";
import type { SandboxRuntime } from "./runtime/runtime.js";
import { createContainerRuntime } from "./runtime/container/container-runtime.js";
import { detectCgroupMode, detectOciRuntime, hasSysResource, type CgroupMode } from "./runtime/container/host-detect.js";
import { pinEnvdRuntime } from "./envd-runtime.js";
import { systemClock } from "./sandbox/clock.js";
import { createEnvdControl } from "./sandbox/envd-control.js";
import type { Logger } from "./sandbox/logger.js";
import { createSandboxManager, type RecoveryReport, type SandboxManager } from "./sandbox/manager.js";
import { createRecordStore } from "./sandbox/records.js";
import { createStorageManager } from "./storage/index.js";
import { applyHostModes, hostModeTable } from "./storage/host-modes.js";
import { sandboxPaths } from "./storage/paths.js";
import { createTemplateStore } from "./templates/template-store.js";
import { checkDataDirReachableByRunc, createNsHelper, createUsernsManager } from "./userns/index.js";

export const NODE_VERSION = "0.1.0";

/** Sandboxes with a user namespace a node can hold at once (65536 host ids each). */
const uidRangeCount = 4096;

export interface RunningNode {
  manager: SandboxManager;
  /** Template builds: steps in build sandboxes, layers cached under the data dir. */
  builder: NodeTemplateBuilder;
  /** Where the node API listens. */
  address: { host: string; port: number };
  secret: string;
  /** Where the secret is kept when it was generated (undefined when it came from the environment). */
  secretFile: string | undefined;
  runtime: string;
  cgroupMode: CgroupMode;
  /** The cgroup directory holding this node's sandboxes (under each hierarchy). */
  cgroupParent: string;
  /** The runtime the sandbox manager drives (with the /proc views binds added at create). */
  sandboxRuntime: SandboxRuntime;
  /** crun on a hybrid host: creates run with the cgroup2 mount hidden. */
  hybridWorkaround: boolean;
  recovery: RecoveryReport;
  /** Where sandboxes' /proc views (lxcfs) come from, now (lxcfs may have been restarted). */
  readonly procViews: ProcViewsStatus;
  /** Stops serving; sandboxes keep running (a new node re-adopts them) unless `killAll`. */
  close(options?: { killAll?: boolean }): Promise<void>;
}

/** Reads `<dataDir>/node-secret`, creating it (0600) with a random secret the first time. */
async function loadSecret(dataDir: string): Promise<{ secret: string; file: string }> {
  const file = join(dataDir, "node-secret");
  if (existsSync(file)) return { secret: (await readFile(file, "utf8")).trim(), file };
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  return { secret: (await readFile(file, "utf8")).trim(), file };
}

/**
 * Starts a node: detects the host (cgroup layout, OCI runtime), re-adopts the
 * sandboxes a previous node left, and serves the node API.
 */
export async function startNode(config: NodeConfig, logger: Logger): Promise<RunningNode> {
  if (process.getuid?.() !== 0) throw new NodeError("unavailable", "the node must run as root (namespaces, mounts, cgroups, nftables)");
  if (!existsSync(join(config.envdRuntimeDir, "envd.js"))) {
    throw new NodeError("unavailable", `no envd runtime at ${config.envdRuntimeDir} (run npm run build)`);
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const cgroupMode = detectCgroupMode();
  const oci = await detectOciRuntime(config.ociRuntime, cgroupMode);
  const modeFixes = await applyHostModes(
    hostModeTable({ dataDir: config.dataDir, templatesDir: config.templatesDir, searchableBySandboxes: config.sandboxUserns && oci.name === "runc" }),
  );
  if (modeFixes.length > 0) logger.warn({ fixes: modeFixes }, "closed host paths that other users could reach (data dir, templates, node secret)");
  // One state dir and cgroup parent per data dir, so two nodes on one host never see each other's sandboxes.
  const tag = createHash("sha256").update(config.dataDir).digest("hex").slice(0, 8);
  const spawner = await startSpawner();
  const runtime = createContainerRuntime({
    runtime: oci,
    cgroupMode,
    stateRoot: `/run/cove/${tag}/${oci.name}`,
    cgroupParent: `cove-${tag}`,
    usernsInheritRlimits: oci.name === "runc" && !hasSysResource(),
    spawner,
  });
  const dnsServers = config.dnsServers ?? hostDnsServers();
  const network = createNetworkManager({
    pool: config.sandboxCidr,
    prefix: config.networkPrefix,
    allowedCidrs: config.allowedCidrs,
    dnsServers,
    logger,
    spawner,
  });
  const nsHelper = createNsHelper(fileURLToPath(new URL("../build/native/cove-ns", import.meta.url)), spawner);
  const procViews = createNodeProcViews({ mode: config.procViews, dataDir: config.dataDir, logger, runtime, rebind: nsHelper.rebind });
  await procViews.start();
  const storage = createStorageManager({ dataDir: config.dataDir, logger, idmapMount: nsHelper.idmapMount, spawner, spareImages: config.spareDisks });
  const userns = config.sandboxUserns
    ? createUsernsManager({
        dataDir: config.dataDir,
        templatesDir: config.templatesDir,
        helper: nsHelper,
        base: config.sandboxUidBase,
        count: uidRangeCount,
        logger,
        spawner,
      })
    : undefined;
  if (userns && oci.name === "runc") {
    await checkDataDirReachableByRunc(config.dataDir);
    if (!hasSysResource())
      logger.warn({}, "runc without CAP_SYS_RESOURCE cannot set rlimits in a sandbox's user namespace: sandboxes keep the node's open-file limit");
  }
  if (!userns) logger.warn({}, "COVE_SANDBOX_USERNS=off: sandboxes share the host's uids; root inside a sandbox is root on the host");
  const records = createRecordStore(config.dataDir);
  const envdRuntimeDir = await pinEnvdRuntime(config.envdRuntimeDir, config.dataDir, async (dir) => {
    for (const id of await records.ids()) {
      const bundle = await readFile(join(records.dir(id), "config.json"), "utf8").catch(() => "");
      if (bundle.includes(`"${dir}"`)) return true;
    }
    return false;
  });
  const templates = createTemplateStore(config.templatesDir);
  // The one the manager drives (the bench times its create and start in place).
  const sandboxRuntime = withProcViews(runtime, procViews);
  const manager = createSandboxManager({
    templates,
    runtime: sandboxRuntime,
    network,
    storage,
    envd: createEnvdControl(),
    records,
    logger,
    ...(userns ? { userns } : {}),
    envdRuntimeDir,
    envdVersion: ENVD_VERSION,
    dnsServers,
    pidsLimit: config.pidsLimit,
    maxCpus: config.maxCpus,
    maxMemoryMB: config.maxMemoryMB,
    bootConcurrency: config.bootConcurrency,
    pool: {
      templates: config.poolTemplates,
      min: config.poolSize,
      max: config.poolMax,
      concurrency: config.poolConcurrency,
      idleMs: config.poolIdleMs,
      memoryReserveMB: config.poolMemoryReserveMB,
    },
  });
  const recovery = await manager.start();
  const builder = await createNodeTemplateBuilder({
    manager,
    templates,
    dataDir: config.dataDir,
    templatesDir: config.templatesDir,
    registryMirrors: config.registryMirrors,
    insecureRegistries: config.insecureRegistries,
    extraCaCerts: config.extraCaCerts,
    readyTimeoutMs: config.buildReadyTimeoutMs,
    layerCacheMs: config.layerCacheMs,
    debianImages: config.debianImages,
    sandboxLowerDirs: async () =>
      (await records.load()).flatMap((rec) => {
        const handle = rec.rootfs?.handle;
        const layers = typeof handle?.layers === "string" ? handle.layers.split(":") : [];
        return typeof handle?.lowerDir === "string" ? [handle.lowerDir, ...layers] : layers;
      }),
  });
  // Layers a deleted template or a crash left: collected once the node runs (never blocks start).
  void builder.collect().catch((err: unknown) => logger.warn({ err }, "collecting unused build layers failed"));
  const { secret, file } = config.secret ? { secret: config.secret, file: undefined } : await loadSecret(config.dataDir);
  const nodeId = `node-${tag}`;
  const info = (): NodeInfo => ({
    nodeId,
    version: NODE_VERSION,
    runtime: runtime.description,
    cgroupMode,
    capacity: { cpuCount: config.maxCpus, memoryBytes: config.maxMemoryMB * 1024 * 1024, sandboxCount: manager.list().length },
  });
  const listTemplates = async () => (await templates.entries()).map(templateSummary);
  const sampler = createMetricsSampler({
    sandboxes: () => manager.list(),
    read: createHostUsageReader({ cgroupMode, cgroupParent: `cove-${tag}`, diskDir: (id) => sandboxPaths(config.dataDir, id).diskDir }),
    clock: systemClock,
    onError: (err) => logger.warn({ err }, "sampling sandbox metrics failed"),
  });
  const api = createNodeApiServer({
    service: manager,
    info,
    templates: listTemplates,
    warmPool: () => manager.poolStats(),
    metrics: (after) => sampler.since(after),
    builder,
    deleteTemplate: async (id, owner) => {
      await templates.remove(id, owner);
      await builder.collect().catch((err: unknown) => logger.warn({ err }, "collecting unused build layers failed"));
    },
    templateTags: templates,
    secret,
    host: config.listenHost,
    port: config.listenPort,
    logger,
  });
  let address: { host: string; port: number };
  try {
    address = await api.listen();
  } catch (err) {
    sampler.stop();
    await manager.close();
    await storage.close();
    await network.close();
    procViews.close();
    spawner.close();
    throw new NodeError("unavailable", `cannot listen on ${config.listenHost}:${config.listenPort}: ${(err as Error).message}`, { cause: err });
  }
  return {
    manager,
    builder,
    address,
    secret,
    secretFile: file,
    runtime: runtime.description,
    cgroupMode,
    hybridWorkaround: oci.needsHybridWorkaround,
    cgroupParent: `cove-${tag}`,
    sandboxRuntime,
    recovery,
    get procViews() {
      return procViews.status();
    },
    async close(options = {}) {
      sampler.stop();
      await api.close();
      await manager.close(options);
      await storage.close();
      // lxcfs outlives the node for the sandboxes it leaves running; with none left it goes too.
      if (options.killAll || (await runtime.list().catch(() => [{}])).length === 0) await procViews.stop();
      else procViews.close();
      // The host-network poll belongs to this node; the table stays for sandboxes that outlive it.
      await network.close();
      spawner.close();
    },
  };
}

/**
 * The node's host commands (crun, ip, nft, mount...) start through cove-spawn: forking the node
 * itself costs 11 ms at 150 MB and stops the event loop meanwhile (docs/benchmarks.md).
 */
async function startSpawner(): Promise<Spawner> {
  const binary = fileURLToPath(new URL("../build/native/cove-spawn", import.meta.url));
  try {
    await access(binary, constants.X_OK);
  } catch {
    throw new NodeError("unavailable", `${binary} is missing: build the node's helpers with \`npm run build\``);
  }
  return createHelperSpawner(binary);
}
