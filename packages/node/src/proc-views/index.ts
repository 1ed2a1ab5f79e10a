import type { RuntimeSandboxSpec, SandboxRuntime } from "../runtime/runtime.js";
import { findOnPath } from "../runtime/container/host-detect.js";
import type { Logger } from "../sandbox/logger.js";
import { procViewFiles } from "./binds.js";
import { createLxcfsHost, lxcfsPaths } from "./lxcfs-host.js";
import { createProcViews, type ProcViews, type ProcViewsMode } from "./proc-views.js";

export type { ProcViews, ProcViewsMode, ProcViewsStatus } from "./proc-views.js";

export interface NodeProcViewsOptions {
  mode: ProcViewsMode;
  dataDir: string;
  logger: Logger;
  /** The node's sandboxes (running or paused, with their init's host pid). */
  runtime: SandboxRuntime;
  /** Replaces the mounts on `files` in the mount namespace of `pid` with binds from `sourceDir` (cove-ns rebind). */
  rebind: (pid: number, sourceDir: string, files: readonly string[]) => Promise<void>;
}

/** The node's lxcfs at `<dataDir>/lxcfs/mnt`; after a restart of it, every live sandbox is bound to the new mount. */
export function createNodeProcViews(options: NodeProcViewsOptions): ProcViews {
  const { logger: log } = options;
  const binary = findOnPath("lxcfs");
  const paths = lxcfsPaths(options.dataDir);
  return createProcViews({
    mode: options.mode,
    host: binary ? createLxcfsHost(binary, paths) : undefined,
    mountDir: paths.mountDir,
    logger: log,
    async onRestart(mountDir) {
      const sandboxes = (await options.runtime.list()).filter((s) => s.pid !== undefined && (s.status === "running" || s.status === "paused"));
      const failed: string[] = [];
      for (const s of sandboxes) {
        await options.rebind(s.pid!, mountDir, procViewFiles).catch((err: unknown) => {
          failed.push(s.sandboxId);
          log.warn({ sandboxId: s.sandboxId, err }, "could not bind a sandbox's /proc views to the new lxcfs");
        });
      }
      if (sandboxes.length > 0) log.warn({ rebound: sandboxes.length - failed.length, failed }, "bound running sandboxes' /proc views to the new lxcfs");
    },
  });
}

/** The runtime with lxcfs's files bound read-only into every sandbox it creates. */
export function withProcViews(runtime: SandboxRuntime, views: ProcViews): SandboxRuntime {
  return {
    ...runtime,
    async create(spec: RuntimeSandboxSpec) {
      await runtime.create({ ...spec, binds: [...spec.binds, ...(await views.binds())] });
    },
  };
}
