import { join } from "node:path";
import { NodeError } from "../errors.js";
import { applyTransition, canTransition } from "../lifecycle/state-table.js";
import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { StorageManager } from "../storage/index.js";
import { type ResolvedTemplate, templateIdentity } from "../templates/template-store.js";
import type { UsernsManager } from "../userns/index.js";
import type { Clock } from "./clock.js";
import type { Destroyable } from "./destroy.js";
import type { EnvdControl } from "./envd-control.js";
import { newSandboxId } from "./ids.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type { SandboxFiles } from "./sandbox-files.js";
import type { CreateSandboxRequest } from "./types.js";
import { startAndAwaitReady } from "./template-start.js";
import type { SandboxView } from "./view.js";

const MiB = 1024 * 1024;

/** The container-runtime side of envd's start: PID 1 tini, then the bundled loader running envd. */
export function sandboxInit(envdPort: number): string[] {
  const rt = "/.cove";
  return [
    `${rt}/native/tini`,
    "--",
    `${rt}/lib/ld-linux-x86-64.so.2`,
    "--library-path",
    `${rt}/lib`,
    `${rt}/node`,
    `${rt}/envd.js`,
    "--port",
    String(envdPort),
  ];
}

export interface BootDeps {
  runtime: SandboxRuntime;
  network: NetworkManager;
  storage: StorageManager;
  envd: EnvdControl;
  records: RecordStore;
  files: SandboxFiles;
  userns?: UsernsManager;
  view: SandboxView;
  clock: Clock;
  destroy: (rec: Destroyable) => Promise<void>;
  envdPort: number;
  envdRuntimeDir: string;
  envdVersion: string;
  pidsLimit: number;
  readyTimeoutMs: number;
}

export interface SandboxBoot {
  /** A pending record for `template` with the request's settings (template defaults for the rest). */
  newRecord(template: ResolvedTemplate, req: Partial<CreateSandboxRequest>, pooled: boolean): SandboxRecord;
  /** Creates and starts a sandbox up to a ready envd (state running). Cleans up after itself on failure. */
  boot(rec: SandboxRecord, template: ResolvedTemplate): Promise<void>;
  /** Hands the caller's settings to a ready envd: env vars, token, user, workdir. */
  initEnvd(rec: SandboxRecord, template: ResolvedTemplate, req: CreateSandboxRequest): Promise<void>;
}

/** How long a template's ready command may take to pass at create (a Jupyter server takes seconds). */
const templateReadyTimeoutMs = 120_000;

export function createSandboxBoot(deps: BootDeps): SandboxBoot {
  const { runtime, network, storage, envd, records, files, userns: usernsManager, view, clock } = deps;

  const boot = async (rec: SandboxRecord, template: ResolvedTemplate): Promise<void> => {
    const id = rec.sandboxId;
    const dir = records.dir(id);
    try {
      // The user namespace comes first: the netns and the idmapped template belong to it.
      if (usernsManager) rec.userns = await usernsManager.create(id);
      await records.save(rec);
      const userns = rec.userns;
      if (userns) await files.openDir(dir, userns.uidBase);
      // Disk and network do not depend on each other; on failure of one, the
      // other's result is still recorded so destroy() releases it.
      const [rootfs, net] = await Promise.allSettled([
        storage.prepare(id, {
          lowerDir: template.rootfs,
          ...(template.layers ? { layers: template.layers } : {}),
          ...(template.build?.upper ? { upper: template.build.upper } : {}),
          diskBytes: rec.diskMB * MiB,
          ...(userns ? { idmap: { usernsPath: userns.path, uidBase: userns.uidBase } } : {}),
        }),
        network.setup(id, {
          internet: rec.allowInternetAccess,
          ...(userns && usernsManager ? { createNetns: (path: string) => usernsManager.createNetns(userns, path) } : {}),
        }),
      ]);
      if (rootfs.status === "fulfilled") rec.rootfs = rootfs.value;
      if (net.status === "fulfilled") rec.network = net.value;
      if (rootfs.status === "rejected") throw rootfs.reason;
      if (net.status === "rejected") throw net.reason;
      if (!rec.network || !rec.rootfs) throw new NodeError("runtime_failed", "storage or network missing");
      const binds = await files.write({
        sandboxId: id,
        sandboxAddress: rec.network.sandboxAddress,
        filesDir: rec.rootfs.filesDir,
        rootUid: userns?.uidBase ?? 0,
      });
      applyTransition(rec, "start");
      await runtime.create({
        sandboxId: id,
        dir,
        rootfs: rec.rootfs.rootfs,
        netnsPath: rec.network.netnsPath,
        // A pool sandbox boots on CPU no one else wants: refills must not slow the creates they serve.
        limits: { cpus: rec.cpuCount, memoryBytes: rec.memoryMB * MiB, pids: deps.pidsLimit, background: rec.pooled === true },
        args: sandboxInit(deps.envdPort),
        env: { HOME: "/root", UV_USE_IO_URING: "0", ENVD_LOG_LEVEL: "warn" },
        binds: [{ source: deps.envdRuntimeDir, destination: "/.cove", readonly: true }, ...binds],
        ...(userns ? { userns } : {}),
        logFile: join(dir, "envd.log"),
      });
      await runtime.start(id);
      await envd.waitReady(view.envdAddress(rec), deps.readyTimeoutMs);
      const m = template.manifest;
      if (m.startCmd || m.readyCmd) {
        // Before /init, so envd has no token yet; pool sandboxes do this ahead of their hand-out.
        await startAndAwaitReady(view.envdAddress(rec), "", {
          ...(m.startCmd ? { startCmd: m.startCmd } : {}),
          ...(m.readyCmd ? { readyCmd: m.readyCmd } : {}),
          user: m.startUser ?? m.defaults.user,
          workdir: m.defaults.workdir,
          env: m.defaults.env,
          timeoutMs: templateReadyTimeoutMs,
        });
      }
      applyTransition(rec, "ready");
    } catch (err) {
      if (canTransition(rec.state, "fail")) applyTransition(rec, "fail");
      await deps.destroy(rec).catch(() => undefined);
      if (err instanceof NodeError) throw err;
      throw new NodeError("runtime_failed", `sandbox ${id} failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };

  return {
    boot,

    newRecord(template, req, pooled) {
      const d = template.manifest.defaults;
      const now = clock.now();
      const timeoutMs = req.timeoutMs ?? 300_000;
      return {
        sandboxId: newSandboxId(),
        templateId: template.manifest.name,
        template: templateIdentity(template),
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
        envdVersion: deps.envdVersion,
        ...(pooled ? { pooled: true } : {}),
        ...(template.build ? { build: true } : {}),
      };
    },

    initEnvd: (rec, template, req) =>
      envd.init(view.envdAddress(rec), {
        envVars: { ...template.manifest.defaults.env, ...req.envVars },
        ...(req.envdAccessToken ? { accessToken: req.envdAccessToken } : {}),
        defaultUser: template.manifest.defaults.user,
        defaultWorkdir: template.manifest.defaults.workdir,
        timestamp: new Date(clock.now()).toISOString(),
      }),
  };
}
