import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeError } from "../../errors.js";
import type { RuntimeSandboxOutput, RuntimeSandboxSpec, RuntimeSandboxState, RuntimeStatus, SandboxRuntime } from "../runtime.js";
import { ociRunArgv, type CgroupMode, type OciRuntime } from "./host-detect.js";
import { openSandboxLog, type SandboxLog } from "./log-pipe.js";
import { OciCommandError, runOci as runOciCommand, runOciDetached } from "./oci-command.js";
import type { Spawner } from "@cove/protocol/spawner";
import { writeCpuSettings } from "./cgroup-cpu.js";
import { buildOciSpec, cpuPeriodUs, type SandboxLimits } from "./oci-spec.js";
import { placeProcBinds } from "./proc-binds.js";

export interface ContainerRuntimeOptions {
  runtime: OciRuntime;
  cgroupMode: CgroupMode;
  /** The runtime's state directory (`--root`), private to this node so `list` shows only its sandboxes. */
  stateRoot: string;
  /** cgroup directory (under every controller on v1) that holds this node's sandboxes. */
  cgroupParent: string;
  /** Root of the cgroup mounts; for tests. */
  cgroupRoot?: string;
  /** Starts crun/runc and mkfifo (the node's cove-spawn helper); Node's child_process without it. */
  spawner?: Spawner;
  /** Spec option inheritRlimits for sandboxes with a user namespace (runc without CAP_SYS_RESOURCE). */
  usernsInheritRlimits?: boolean;
}

/**
 * The container driver: sandboxes are OCI containers run by crun or runc,
 * one bundle (config.json) per sandbox in its directory.
 */
export function createContainerRuntime(options: ContainerRuntimeOptions): SandboxRuntime {
  const { runtime, cgroupMode, stateRoot } = options;
  const cgroupRoot = options.cgroupRoot ?? "/sys/fs/cgroup";
  const oci = (...args: string[]) => [runtime.path, "--root", stateRoot, ...args];
  const runOci = (argv: readonly string[]) => runOciCommand(argv, undefined, options.spawner);

  const inspect = async (sandboxId: string): Promise<RuntimeSandboxState | undefined> => {
    try {
      const { stdout } = await runOci(oci("state", sandboxId));
      return parseState(JSON.parse(stdout) as RawState);
    } catch (err) {
      if (err instanceof OciCommandError && /does not exist|not exist|no such file/i.test(err.output)) return undefined;
      throw err;
    }
  };

  /** Removes the sandbox's cgroup directories the runtime left (it normally removes them itself). */
  const removeCgroups = async (sandboxId: string) => {
    const dirs = cgroupDirs(cgroupRoot, cgroupMode, options.cgroupParent, sandboxId).filter((d) => existsSync(d));
    for (let attempt = 0; dirs.length > 0 && attempt < 50; attempt++) {
      for (let i = dirs.length - 1; i >= 0; i--) {
        try {
          rmdirSync(dirs[i]!);
          dirs.splice(i, 1);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") dirs.splice(i, 1);
        }
      }
      if (dirs.length > 0) await sleep(20); // processes still exiting
    }
    if (dirs.length > 0) throw new NodeError("runtime_failed", `cgroups of ${sandboxId} still busy: ${dirs.join(", ")}`);
  };

  /** Each sandbox's output pipe, read while the sandbox lives. */
  const outputs = new Map<string, SandboxLog>();
  const openOutput = async (sandbox: RuntimeSandboxOutput): Promise<SandboxLog> => {
    let log = outputs.get(sandbox.sandboxId);
    if (!log) {
      log = await openSandboxLog(join(sandbox.dir, "output.fifo"), sandbox.logFile, undefined, options.spawner);
      outputs.set(sandbox.sandboxId, log);
    }
    return log;
  };

  return {
    description: `${runtime.name} ${runtime.version}`,

    async create(spec: RuntimeSandboxSpec) {
      await mkdir(stateRoot, { recursive: true, mode: 0o700 });
      const ociSpec = buildOciSpec({
        id: spec.sandboxId,
        args: spec.args,
        env: spec.env,
        rootfs: bundleRelative(spec.dir, spec.rootfs),
        netnsPath: spec.netnsPath,
        cgroupsPath: `/${options.cgroupParent}/${spec.sandboxId}`,
        limits: spec.limits,
        binds: spec.binds,
        ...(spec.userns ? { userns: spec.userns, inheritRlimits: options.usernsInheritRlimits === true } : {}),
      });
      const config = placeProcBinds(ociSpec, runtime.name, spec.rootfs);
      const [output] = await Promise.all([openOutput(spec), writeFile(join(spec.dir, "config.json"), JSON.stringify(config), { mode: 0o600 })]);
      await runOciDetached(
        ociRunArgv(runtime, cgroupMode, ["--root", stateRoot, "create", "--bundle", spec.dir, spec.sandboxId]),
        output,
        undefined,
        options.spawner,
      );
    },

    async start(sandboxId) {
      await runOci(oci("start", sandboxId));
    },

    async pause(sandboxId) {
      await runOci(oci("pause", sandboxId));
    },

    async resume(sandboxId) {
      await runOci(oci("resume", sandboxId));
    },

    async update(sandboxId, limits: SandboxLimits) {
      if (limits.cpus !== undefined) {
        await writeCpuSettings(
          cgroupRoot,
          cgroupMode,
          `${options.cgroupParent}/${sandboxId}`,
          { cpus: limits.cpus, background: limits.background === true },
          cpuPeriodUs,
        );
      }
      const args: string[] = [];
      if (limits.memoryBytes !== undefined) args.push("--memory", String(limits.memoryBytes), "--memory-swap", String(limits.memoryBytes));
      if (limits.pids !== undefined) args.push("--pids-limit", String(limits.pids));
      if (args.length > 0) await runOci(oci("update", ...args, sandboxId));
    },

    async kill(sandboxId) {
      const state = await inspect(sandboxId);
      if (state) {
        // A frozen process cannot act on SIGKILL until thawed.
        if (state.status === "paused") await runOci(oci("resume", sandboxId)).catch(() => undefined);
        try {
          await runOci(oci("delete", "--force", sandboxId));
        } catch (err) {
          if (!(err instanceof OciCommandError && /does not exist/i.test(err.output))) throw err;
        }
      }
      // Its processes are gone: nothing writes to the pipe any more.
      outputs.get(sandboxId)?.close();
      outputs.delete(sandboxId);
      await removeCgroups(sandboxId);
    },

    inspect,

    async adopt(sandbox) {
      await openOutput(sandbox);
    },

    close() {
      for (const log of outputs.values()) log.close();
      outputs.clear();
    },

    async destroy() {
      for (const dir of cgroupDirs(cgroupRoot, cgroupMode, "", options.cgroupParent)) {
        try {
          rmdirSync(dir);
        } catch {
          // absent, or still holding a sandbox: leave it
        }
      }
      await rm(stateRoot, { recursive: true, force: true });
      // The per-node parent (/run/cove/<tag>) too, once empty.
      await rmdir(dirname(stateRoot)).catch(() => undefined);
    },

    async list() {
      if (!existsSync(stateRoot)) return [];
      const { stdout } = await runOci(oci("list", "--format", "json"));
      const raw = (JSON.parse(stdout.trim() || "[]") ?? []) as RawState[];
      return raw.map(parseState);
    },
  };
}

interface RawState {
  id: string;
  status: string;
  pid?: number;
}

function parseState(raw: RawState): RuntimeSandboxState {
  const status: RuntimeStatus =
    raw.status === "created" || raw.status === "running" || raw.status === "paused" || raw.status === "creating" ? raw.status : "stopped";
  return { sandboxId: raw.id, status, ...(raw.pid && status !== "stopped" ? { pid: raw.pid } : {}) };
}

/**
 * The rootfs relative to the bundle when it lies inside it. crun resolves a relative root from
 * the bundle dir, which it has entered as host root, so a sandbox with its own user namespace
 * (whose root then mounts it) needs search permission on the bundle dir only, not on every
 * parent of the data dir (a data dir under /root, say). runc makes the path absolute again.
 */
export function bundleRelative(bundle: string, rootfs: string): string {
  const rel = relative(bundle, rootfs);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : rootfs;
}

/** The sandbox's cgroup directories: one per v1 controller hierarchy, or the v2 one. */
export function cgroupDirs(root: string, mode: CgroupMode, parent: string, sandboxId: string): string[] {
  if (mode === "v2") return [join(root, parent, sandboxId)];
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  // v1: every mounted hierarchy (cpu,cpuacct is a dir; cpu and cpuacct are
  // symlinks to it), plus the hybrid host's cgroup2 mount, which runc also uses.
  return entries.map((e) => join(root, e, parent, sandboxId));
}
