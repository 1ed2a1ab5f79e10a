import { ENVD_PORT } from "@cove/protocol/envd";
import { NodeError } from "../errors.js";
import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { StorageManager } from "../storage/index.js";
import type { ResolvedTemplate, TemplateStore } from "../templates/template-store.js";
import type { UsernsManager } from "../userns/index.js";
import { createSandboxBoot } from "./boot.js";
import { createBootGate } from "./boot-gate.js";
import { systemClock, type Clock } from "./clock.js";
import { createDestroy } from "./destroy.js";
import type { EnvdControl } from "./envd-control.js";
import { createEventHub } from "./events.js";
import { createSandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import { createSandboxOperations } from "./operations.js";
import { createHostMemory, type HostMemory } from "./host-memory.js";
import { createWarmPool, type WarmPoolSettings, type WarmPoolStats } from "./pool.js";
import { createReaper } from "./reaper.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import { recoverSandboxes, type RecoveryReport } from "./recovery.js";
import { createSandboxFiles, type SandboxFiles } from "./sandbox-files.js";
import type { CreateSandboxRequest, SandboxInfo, SandboxRoute, SandboxService } from "./types.js";
import { validateCreate } from "./validate.js";
import { createSandboxView } from "./view.js";

export { sandboxInit } from "./boot.js";
export type { RecoveryReport } from "./recovery.js";

export interface SandboxManagerOptions {
  templates: TemplateStore;
  runtime: SandboxRuntime;
  network: NetworkManager;
  storage: StorageManager;
  envd: EnvdControl;
  records: RecordStore;
  logger: Logger;
  /** The portable envd runtime folder, mounted read-only at /.cove in every sandbox. */
  envdRuntimeDir: string;
  /** Version envd reports; handed to the SDK, which gates features on it. */
  envdVersion: string;
  /** Nameservers written to each sandbox's /etc/resolv.conf. */
  dnsServers: string[];
  envdPort?: number;
  pidsLimit?: number;
  /** How long envd may take to answer /health after the container starts. */
  readyTimeoutMs?: number;
  /** Callers' cold boots run at once (default 3); the rest queue in arrival order. */
  bootConcurrency?: number;
  reaperIntervalMs?: number;
  /** Upper bounds for create requests. */
  maxCpus: number;
  maxMemoryMB: number;
  /** Gives each sandbox its own user namespace; omitted = root inside is root on the host. */
  userns?: UsernsManager;
  /** Warm pool: pre-started sandboxes handed out by create. Omitted (or max 0) = off. */
  pool?: WarmPoolSettings;
  /** What the pool reads before it grows; default: /proc/meminfo. */
  memory?: HostMemory;
  /** Default: the system clock. */
  clock?: Clock;
  /** The host files bound into each sandbox; default: written on its disk (etc files, boot id). */
  files?: SandboxFiles;
}

export interface SandboxManager extends SandboxService {
  /** Prepares host state, re-adopts sandboxes a previous node left running, cleans up the rest, starts the reaper. */
  start(): Promise<RecoveryReport>;
  /**
   * Stops the reaper and the pool. With `killAll`, kills every sandbox (pool
   * included) and then removes the node's host state (nft table, storage
   * pool, cgroup parents).
   */
  close(options?: { killAll?: boolean }): Promise<void>;
  /** Sandboxes waiting in the warm pool, all templates together. */
  poolSize(): number;
  /** The warm pool per template: target, waiting, booting, handed out. */
  poolStats(): WarmPoolStats;
  /**
   * A sandbox for one template build step, over the layers built so far (`template.build` set).
   * Never from the pool, never listed, no events; end it with killBuildSandbox.
   */
  createBuildSandbox(template: ResolvedTemplate & Required<Pick<ResolvedTemplate, "build">>, request: CreateSandboxRequest): Promise<BuildSandboxInfo>;
  /** Kills a build sandbox; `harvest` gets its writable layer's host dir after every process in it has gone, before its disk does. */
  killBuildSandbox(sandboxId: string, harvest: (upperDir: string) => Promise<void>): Promise<void>;
}

/** A build sandbox, with the host id its root maps to (its writable layer holds ids shifted by it). */
export interface BuildSandboxInfo extends SandboxInfo {
  uidBase?: number;
}

/** Wires the manager's parts (boot, operations, pool, reaper, recovery) around one table of live sandboxes. */
export function createSandboxManager(options: SandboxManagerOptions): SandboxManager {
  const { runtime, network, storage, envd, records, templates, logger: log } = options;
  const clock = options.clock ?? systemClock;
  const envdPort = options.envdPort ?? ENVD_PORT;
  const live = new Map<string, SandboxRecord>();
  const locks = createSandboxLocks();
  const hub = createEventHub();
  const view = createSandboxView({ envdPort, hub, clock });
  const destroy = createDestroy({ runtime, network, storage, records, log, ...(options.userns ? { userns: options.userns } : {}) });
  const boot = createSandboxBoot({
    runtime,
    network,
    storage,
    envd,
    records,
    files: options.files ?? createSandboxFiles({ dnsServers: options.dnsServers }),
    ...(options.userns ? { userns: options.userns } : {}),
    view,
    clock,
    destroy,
    envdPort,
    envdRuntimeDir: options.envdRuntimeDir,
    envdVersion: options.envdVersion,
    pidsLimit: options.pidsLimit ?? 1024,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
  });
  const gate = createBootGate(options.bootConcurrency ?? 3);
  const ops = createSandboxOperations({ live, locks, boot, gate, destroy, view, runtime, records, clock, log });
  const pool = createWarmPool({
    live,
    locks,
    boot,
    destroy,
    view,
    templates,
    runtime,
    network,
    envd,
    records,
    clock,
    log,
    memory: options.memory ?? createHostMemory(),
    settings: options.pool ?? { templates: [], min: 0, max: 0, concurrency: 1, idleMs: 60_000, memoryReserveMB: 0 },
  });
  const reaper = createReaper({
    live,
    locks,
    ops,
    runtime,
    clock,
    log,
    ...(options.reaperIntervalMs !== undefined ? { intervalMs: options.reaperIntervalMs } : {}),
    onDied: () => pool.refill(),
  });
  let closed = false;

  return {
    async start() {
      await network.init();
      await storage.init();
      await options.userns?.init();
      const report = await recoverSandboxes({ live, runtime, network, storage, records, destroy, log, ...(options.userns ? { userns: options.userns } : {}) });
      reaper.start();
      pool.start();
      log.info({ adopted: report.adopted.length, removed: report.removed.length }, "node recovered its sandboxes");
      return report;
    },

    async close(opts = {}) {
      closed = true;
      gate.close();
      reaper.stop();
      await pool.stop();
      const victims = opts.killAll ? [...live.values()] : pool.members();
      await Promise.all(victims.map((rec) => ops.discard(rec)));
      await locks.idle();
      if (opts.killAll && live.size === 0) {
        await network.destroy().catch((err: unknown) => log.error({ err }, "network cleanup failed"));
        await storage.destroy().catch((err: unknown) => log.error({ err }, "storage cleanup failed"));
        await runtime.destroy().catch((err: unknown) => log.error({ err }, "runtime cleanup failed"));
      }
      runtime.close();
    },

    poolSize: () => pool.ready(),

    poolStats: () => pool.stats(),

    async create(req) {
      if (closed) throw new NodeError("unavailable", "the node is shutting down");
      validateCreate(req, { maxCpus: options.maxCpus, maxMemoryMB: options.maxMemoryMB });
      const template = await templates.resolve(req.templateId, req.owner);
      const rec = (await pool.claim(template, req)) ?? (await ops.create(template, req));
      view.emit("created", rec);
      pool.refill();
      return view.info(rec);
    },

    async createBuildSandbox(template, req) {
      if (closed) throw new NodeError("unavailable", "the node is shutting down");
      validateCreate(req, { maxCpus: options.maxCpus, maxMemoryMB: options.maxMemoryMB });
      const rec = await ops.create(template, req);
      return { ...view.info(rec), ...(rec.userns ? { uidBase: rec.userns.uidBase } : {}) };
    },

    list: () => [...live.values()].filter((r) => !r.pooled && !r.build && (r.state === "running" || r.state === "paused")).map(view.info),

    get: (id) => view.info(ops.find(id)),

    kill: (id) => ops.kill(id, "request"),

    killBuildSandbox: (id, harvest) =>
      ops.kill(id, "request", async (rec) => {
        const upper = rec.rootfs?.upperDir;
        if (!upper) throw new NodeError("runtime_failed", `build sandbox ${id} has no writable layer to read`);
        await harvest(upper);
      }),

    setTimeout: (id, timeoutMs) => ops.setTimeout(id, timeoutMs),

    pause: (id) => ops.pause(id, "request"),

    resume: (id, timeoutMs) => ops.resume(id, timeoutMs),

    route(id, port): SandboxRoute {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NodeError("invalid_argument", `port must be 1-65535, got ${port}`);
      const rec = ops.find(id);
      return { sandboxId: id, state: rec.state, address: `${rec.network?.sandboxAddress ?? ""}:${port}` };
    },

    events: (signal) => hub.subscribe(signal),
  };
}
