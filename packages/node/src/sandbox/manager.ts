import { chmod, chown } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../errors.js";
import { nextState } from "../lifecycle/state-table.js";
import type { NetworkManager, SandboxNetwork } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { StorageManager } from "../storage/index.js";
import type { UsernsManager } from "../userns/index.js";
import type { ResolvedTemplate, TemplateStore } from "../templates/template-store.js";
import { bootIdBind } from "./boot-id.js";
import type { EnvdControl } from "./envd-control.js";
import { writeEtcFiles } from "./etc-files.js";
import { createEventHub } from "./events.js";
import { newSandboxId } from "./ids.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type {
  CreateSandboxRequest,
  SandboxEventReason,
  SandboxEventType,
  SandboxInfo,
  SandboxRoute,
  SandboxService,
} from "./types.js";
import { validateCreate, validateTimeout } from "./validate.js";

const MiB = 1024 * 1024;

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
  reaperIntervalMs?: number;
  /** Upper bounds for create requests. */
  maxCpus: number;
  maxMemoryMB: number;
  /** Gives each sandbox its own user namespace; omitted = root inside is root on the host. */
  userns?: UsernsManager;
  /** Warm pool: this many pre-started sandboxes of `templateId`, handed out by create. 0 = off. */
  pool?: { templateId: string; size: number };
}

export interface RecoveryReport {
  adopted: string[];
  removed: string[];
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
  /** Sandboxes waiting in the warm pool. */
  poolSize(): number;
}

/** The container-runtime side of envd's start: PID 1 tini, then the bundled loader running envd. */
export function sandboxInit(envdPort: number): string[] {
  const rt = "/.cove";
  return [`${rt}/native/tini`, "--", `${rt}/lib/ld-linux-x86-64.so.2`, "--library-path", `${rt}/lib`, `${rt}/node`, `${rt}/envd.js`, "--port", String(envdPort)];
}

export function createSandboxManager(options: SandboxManagerOptions): SandboxManager {
  const { runtime, network, storage, envd, records, logger: log } = options;
  const envdPort = options.envdPort ?? 49983;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const live = new Map<string, SandboxRecord>();
  const locks = new Map<string, Promise<unknown>>();
  const hub = createEventHub();
  const poolTarget = options.pool?.size ?? 0;
  let reaper: NodeJS.Timeout | undefined;
  let closed = false;
  let refilling: Promise<void> | undefined;
  const reaping = new Set<string>();
  const pooled = () => [...live.values()].filter((r) => r.pooled);

  /** Serializes operations on one sandbox; different sandboxes proceed in parallel. */
  const withLock = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(id, settled);
    void settled.then(() => {
      if (locks.get(id) === settled) locks.delete(id);
    });
    return run;
  };

  const envdAddress = (rec: SandboxRecord) => `${rec.network?.sandboxAddress ?? "0.0.0.0"}:${envdPort}`;

  const info = (rec: SandboxRecord): SandboxInfo => ({
    sandboxId: rec.sandboxId,
    templateId: rec.templateId,
    state: rec.state,
    cpuCount: rec.cpuCount,
    memoryMB: rec.memoryMB,
    diskMB: rec.diskMB,
    startedAt: rec.startedAt,
    endAt: rec.endAt,
    metadata: { ...rec.metadata },
    allowInternetAccess: rec.allowInternetAccess,
    autoPause: rec.autoPause,
    envdVersion: rec.envdVersion,
    envdAddress: envdAddress(rec),
    sandboxIp: rec.network?.sandboxAddress ?? "",
  });

  const emit = (type: SandboxEventType, rec: SandboxRecord, reason?: SandboxEventReason, message?: string) => {
    if (rec.pooled) return;
    hub.publish({
      type,
      sandboxId: rec.sandboxId,
      at: new Date().toISOString(),
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      sandbox: info(rec),
    });
  };

  const find = (id: string): SandboxRecord => {
    const rec = live.get(id);
    if (!rec || rec.pooled) throw new NodeError("not_found", `sandbox '${id}' not found`);
    return rec;
  };

  /** Removes everything a sandbox owns; every step runs even if an earlier one failed. */
  const destroy = async (rec: Pick<SandboxRecord, "sandboxId" | "network" | "rootfs" | "userns">): Promise<void> => {
    const id = rec.sandboxId;
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await step("runtime", () => runtime.kill(id));
    if (rec.network) await step("network", () => network.teardown(rec.network!));
    await step("storage", () => storage.release(id, rec.rootfs));
    if (options.userns) await step("user namespace", () => options.userns!.release(id, rec.userns));
    if (problems.length === 0) await step("files", () => records.remove(id));
    if (problems.length > 0) {
      log.error({ sandboxId: id, problems }, "sandbox cleanup incomplete");
      throw new NodeError("runtime_failed", `cleanup of sandbox ${id} incomplete: ${problems.join("; ")}`);
    }
  };

  /** Creates and starts a sandbox up to a ready envd. Cleans up after itself on failure. */
  const boot = async (rec: SandboxRecord, template: ResolvedTemplate): Promise<void> => {
    const id = rec.sandboxId;
    const dir = records.dir(id);
    try {
      // The user namespace comes first: the netns and the idmapped template belong to it.
      if (options.userns) rec.userns = await options.userns.create(id);
      await records.save(rec);
      // The OCI runtime mounts the rootfs from inside the user namespace: its root must pass this dir.
      if (rec.userns) await Promise.all([chown(dir, 0, rec.userns.uidBase), chmod(dir, 0o710)]);
      const userns = rec.userns;
      // Disk and network do not depend on each other; on failure of one, the
      // other's result is still recorded so destroy() releases it.
      const [rootfs, net] = await Promise.allSettled([
        storage.prepare(id, {
          lowerDir: template.rootfs,
          diskBytes: rec.diskMB * MiB,
          ...(userns ? { idmap: { usernsPath: userns.path, uidBase: userns.uidBase } } : {}),
        }),
        network.setup(id, {
          internet: rec.allowInternetAccess,
          ...(userns && options.userns ? { createNetns: (path: string) => options.userns!.createNetns(userns, path) } : {}),
        }),
      ]);
      if (rootfs.status === "fulfilled") rec.rootfs = rootfs.value;
      if (net.status === "fulfilled") rec.network = net.value;
      if (rootfs.status === "rejected") throw rootfs.reason;
      if (net.status === "rejected") throw net.reason;
      if (!rec.network || !rec.rootfs) throw new NodeError("runtime_failed", "storage or network missing");
      const etc = await writeEtcFiles({
        sandboxId: id,
        sandboxAddress: rec.network.sandboxAddress,
        dnsServers: options.dnsServers,
        filesDir: rec.rootfs.filesDir,
        rootUid: userns?.uidBase ?? 0,
      });
      rec.state = nextState(rec.state, "start");
      await runtime.create({
        sandboxId: id,
        dir,
        rootfs: rec.rootfs.rootfs,
        netnsPath: rec.network.netnsPath,
        limits: { cpus: rec.cpuCount, memoryBytes: rec.memoryMB * MiB, pids: options.pidsLimit ?? 1024 },
        args: sandboxInit(envdPort),
        env: { HOME: "/root", UV_USE_IO_URING: "0", ENVD_LOG_LEVEL: "warn" },
        binds: [
          { source: options.envdRuntimeDir, destination: "/.cove", readonly: true },
          await bootIdBind(rec.rootfs.filesDir),
          ...etc,
        ],
        ...(userns ? { userns } : {}),
        logFile: join(dir, "envd.log"),
      });
      await runtime.start(id);
      await envd.waitReady(envdAddress(rec), readyTimeoutMs);
      rec.state = nextState(rec.state, "ready");
    } catch (err) {
      await destroy(rec).catch(() => undefined);
      if (err instanceof NodeError) throw err;
      throw new NodeError("runtime_failed", `sandbox ${id} failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };

  const newRecord = (template: ResolvedTemplate, req: Partial<CreateSandboxRequest>, pooled: boolean): SandboxRecord => {
    const d = template.manifest.defaults;
    const now = Date.now();
    const timeoutMs = req.timeoutMs ?? 300_000;
    return {
      sandboxId: newSandboxId(),
      templateId: template.manifest.name,
      state: "pending",
      cpuCount: req.cpuCount ?? d.cpuCount,
      memoryMB: req.memoryMB ?? d.memoryMB,
      diskMB: d.diskMB,
      startedAt: new Date(now).toISOString(),
      endAt: new Date(now + timeoutMs).toISOString(),
      timeoutMs,
      metadata: { ...req.metadata },
      allowInternetAccess: req.allowInternetAccess ?? true,
      autoPause: req.autoPause ?? false,
      envdVersion: options.envdVersion,
      ...(pooled ? { pooled: true } : {}),
    };
  };

  /** Hands the caller's settings to a ready envd: env vars, token, user, workdir. */
  const initEnvd = (rec: SandboxRecord, template: ResolvedTemplate, req: CreateSandboxRequest) =>
    envd.init(envdAddress(rec), {
      envVars: { ...template.manifest.defaults.env, ...req.envVars },
      ...(req.envdAccessToken ? { accessToken: req.envdAccessToken } : {}),
      defaultUser: template.manifest.defaults.user,
      defaultWorkdir: template.manifest.defaults.workdir,
      timestamp: new Date().toISOString(),
    });

  /** Applies a create request to a pooled sandbox; undefined if none fits. */
  const claim = async (template: ResolvedTemplate, req: CreateSandboxRequest): Promise<SandboxRecord | undefined> => {
    const rec = [...live.values()].find((r) => r.pooled && r.templateId === template.manifest.name && r.state === "running");
    if (!rec) return undefined;
    rec.pooled = false; // taken: no other create can pick it
    return withLock(rec.sandboxId, async () => {
      try {
        const cpuCount = req.cpuCount ?? rec.cpuCount;
        const memoryMB = req.memoryMB ?? rec.memoryMB;
        if (cpuCount !== rec.cpuCount || memoryMB !== rec.memoryMB) {
          await runtime.update(rec.sandboxId, { cpus: cpuCount, memoryBytes: memoryMB * MiB });
        }
        const internet = req.allowInternetAccess ?? true;
        if (internet !== rec.allowInternetAccess) await network.setInternet(rec.sandboxId, internet);
        await initEnvd(rec, template, req);
        const now = Date.now();
        Object.assign(rec, {
          cpuCount,
          memoryMB,
          allowInternetAccess: internet,
          autoPause: req.autoPause ?? false,
          metadata: { ...req.metadata },
          timeoutMs: req.timeoutMs,
          startedAt: new Date(now).toISOString(),
          endAt: new Date(now + req.timeoutMs).toISOString(),
        });
        delete rec.pooled;
        await records.save(rec);
        return rec;
      } catch (err) {
        log.warn({ sandboxId: rec.sandboxId, err }, "pooled sandbox could not be handed out; discarding it");
        live.delete(rec.sandboxId);
        await destroy(rec).catch(() => undefined);
        return undefined;
      }
    });
  };

  const refillPool = () => {
    if (closed || poolTarget === 0 || refilling || !options.pool) return;
    const templateId = options.pool.templateId;
    refilling = (async () => {
      try {
        while (!closed && pooled().length < poolTarget) {
          const template = await options.templates.resolve(templateId);
          const rec = newRecord(template, {}, true);
          live.set(rec.sandboxId, rec);
          try {
            await withLock(rec.sandboxId, () => boot(rec, template));
            await records.save(rec);
            // One RPC warms envd's Connect path (its first call costs ~40 ms).
            await envd.warm(envdAddress(rec)).catch(() => undefined);
          } catch (err) {
            live.delete(rec.sandboxId);
            log.error({ err, templateId }, "could not start a pool sandbox; retrying in 5 s");
            await new Promise((r) => setTimeout(r, 5000).unref());
          }
        }
      } finally {
        refilling = undefined;
      }
    })();
  };

  const kill = (id: string, reason: SandboxEventReason) =>
    withLock(id, async () => {
      const rec = find(id);
      nextState(rec.state, "kill");
      try {
        await destroy(rec);
      } finally {
        live.delete(id);
        rec.state = "stopped";
        emit("killed", rec, reason);
      }
    });

  const pause = (id: string, reason: SandboxEventReason) =>
    withLock(id, async () => {
      const rec = find(id);
      const next = nextState(rec.state, "pause");
      await runtime.pause(id);
      rec.state = next;
      await records.save(rec);
      emit("paused", rec, reason);
      return info(rec);
    });

  const reap = async () => {
    const now = Date.now();
    for (const rec of live.values()) {
      if (rec.pooled || rec.state !== "running" || Date.parse(rec.endAt) > now || reaping.has(rec.sandboxId)) continue;
      const id = rec.sandboxId;
      reaping.add(id);
      const action = rec.autoPause ? pause(id, "timeout") : kill(id, "timeout");
      action
        .catch((err: unknown) => log.error({ sandboxId: id, err }, "reaper could not stop an expired sandbox"))
        .finally(() => reaping.delete(id));
    }
  };

  /** Sandboxes whose init died on their own (crash, OOM of envd) are cleaned up and reported. */
  const checkAlive = async () => {
    let states;
    try {
      states = new Map((await runtime.list()).map((s) => [s.sandboxId, s.status]));
    } catch (err) {
      log.warn({ err }, "runtime list failed");
      return;
    }
    for (const rec of live.values()) {
      if (rec.state !== "running" && rec.state !== "paused") continue;
      if (locks.has(rec.sandboxId)) continue;
      const status = states.get(rec.sandboxId);
      if (status === "running" || status === "paused") continue;
      const id = rec.sandboxId;
      void withLock(id, async () => {
        if (!live.has(id)) return;
        log.warn({ sandboxId: id, status: status ?? "missing" }, "sandbox died; cleaning up");
        live.delete(id);
        rec.state = "error";
        await destroy(rec).catch(() => undefined);
        emit("killed", rec, "error", "the sandbox's init process exited");
        refillPool();
      });
    }
  };

  const recover = async (): Promise<RecoveryReport> => {
    const adopted: string[] = [];
    const removed: string[] = [];
    const states = new Map((await runtime.list()).map((s) => [s.sandboxId, s.status]));
    const recs = await records.load();
    const known = new Set(recs.map((r) => r.sandboxId));
    for (const rec of recs) {
      const status = states.get(rec.sandboxId);
      const alive = status === "running" || status === "paused";
      if ((rec.state === "running" || rec.state === "paused") && alive && rec.network && rec.rootfs) {
        try {
          if (rec.userns && options.userns) await options.userns.adopt(rec.sandboxId, rec.userns);
          await network.adopt(rec.network);
          await storage.adopt(rec.rootfs);
          await runtime.adopt({ sandboxId: rec.sandboxId, dir: records.dir(rec.sandboxId), logFile: join(records.dir(rec.sandboxId), "envd.log") });
          rec.state = status;
          live.set(rec.sandboxId, rec);
          adopted.push(rec.sandboxId);
          continue;
        } catch (err) {
          log.warn({ sandboxId: rec.sandboxId, err }, "could not re-adopt sandbox; removing it");
        }
      }
      await destroy(rec).catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "cleanup failed"));
      removed.push(rec.sandboxId);
    }
    // Directories without a record (a crash before the first save) and containers without a directory.
    for (const id of await records.ids()) {
      if (known.has(id)) continue;
      await destroy({ sandboxId: id }).catch((err: unknown) => log.error({ sandboxId: id, err }, "cleanup failed"));
      removed.push(id);
    }
    for (const id of states.keys()) {
      if (live.has(id) || known.has(id)) continue;
      await runtime.kill(id).catch((err: unknown) => log.error({ sandboxId: id, err }, "cleanup failed"));
      removed.push(id);
    }
    // Leftovers no record pointed at (netns and veth names, storage of unknown ids).
    const keep = new Set(live.keys());
    const strays = [
      ...(await network.cleanupOrphans(keep)),
      ...(await storage.cleanupOrphans(keep)),
      ...((await options.userns?.cleanupOrphans(keep)) ?? []),
    ];
    if (strays.length > 0) log.warn({ strays }, "removed leftovers of sandboxes without a record");
    return { adopted, removed };
  };

  return {
    async start() {
      await network.init();
      await storage.init();
      await options.userns?.init();
      const report = await recover();
      let ticks = 0;
      reaper = setInterval(() => {
        void reap();
        if (++ticks % 10 === 0) void checkAlive();
      }, options.reaperIntervalMs ?? 500);
      reaper.unref();
      void reap();
      refillPool();
      log.info({ adopted: report.adopted.length, removed: report.removed.length }, "node recovered its sandboxes");
      return report;
    },

    async close(opts = {}) {
      closed = true;
      if (reaper) clearInterval(reaper);
      await refilling?.catch(() => undefined);
      const victims = opts.killAll ? [...live.values()] : pooled();
      await Promise.all(
        victims.map((rec) =>
          withLock(rec.sandboxId, async () => {
            live.delete(rec.sandboxId);
            await destroy(rec).catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "cleanup failed"));
            rec.state = "stopped";
            emit("killed", rec, "request");
          }),
        ),
      );
      await Promise.all([...locks.values()]);
      if (opts.killAll && live.size === 0) {
        await network.destroy().catch((err: unknown) => log.error({ err }, "network cleanup failed"));
        await storage.destroy().catch((err: unknown) => log.error({ err }, "storage cleanup failed"));
        await runtime.destroy().catch((err: unknown) => log.error({ err }, "runtime cleanup failed"));
      }
      runtime.close();
    },

    poolSize: () => pooled().filter((r) => r.state === "running").length,

    async create(req) {
      if (closed) throw new NodeError("unavailable", "the node is shutting down");
      validateCreate(req, { maxCpus: options.maxCpus, maxMemoryMB: options.maxMemoryMB });
      const template = await options.templates.resolve(req.templateId);
      const claimed = await claim(template, req);
      if (claimed) {
        refillPool();
        emit("created", claimed);
        return info(claimed);
      }
      const rec = newRecord(template, req, false);
      live.set(rec.sandboxId, rec);
      try {
        await withLock(rec.sandboxId, async () => {
          await boot(rec, template);
          await initEnvd(rec, template, req);
          const now = Date.now();
          rec.startedAt = new Date(now).toISOString();
          rec.endAt = new Date(now + req.timeoutMs).toISOString();
          await records.save(rec);
        });
      } catch (err) {
        live.delete(rec.sandboxId);
        if (rec.state === "running") await destroy(rec).catch(() => undefined);
        throw err;
      }
      emit("created", rec);
      refillPool();
      return info(rec);
    },

    list: () => [...live.values()].filter((r) => !r.pooled && (r.state === "running" || r.state === "paused")).map(info),

    get: (id) => info(find(id)),

    kill: (id) => kill(id, "request"),

    setTimeout: (id, timeoutMs) =>
      withLock(id, async () => {
        validateTimeout(timeoutMs);
        const rec = find(id);
        rec.timeoutMs = timeoutMs;
        rec.endAt = new Date(Date.now() + timeoutMs).toISOString();
        await records.save(rec);
        return info(rec);
      }),

    pause: (id) => pause(id, "request"),

    resume: (id, timeoutMs) =>
      withLock(id, async () => {
        if (timeoutMs !== undefined) validateTimeout(timeoutMs);
        const rec = find(id);
        const next = nextState(rec.state, "resume");
        await runtime.resume(id);
        rec.state = next;
        if (timeoutMs !== undefined) rec.timeoutMs = timeoutMs;
        rec.endAt = new Date(Date.now() + rec.timeoutMs).toISOString();
        await records.save(rec);
        emit("resumed", rec, "request");
        return info(rec);
      }),

    route(id, port): SandboxRoute {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NodeError("invalid_argument", `port must be 1-65535, got ${port}`);
      const rec = find(id);
      return { sandboxId: id, state: rec.state, address: `${rec.network?.sandboxAddress ?? ""}:${port}` };
    },

    events: (signal) => hub.subscribe(signal),
  };
}
