import type { BindMount, SandboxLimits } from "./container/oci-spec.js";

/** What a runtime driver needs to start one sandbox. */
export interface RuntimeSandboxSpec {
  sandboxId: string;
  /** Directory the driver may write its files to (bundle, logs); it exists. */
  dir: string;
  /** The mounted root filesystem. */
  rootfs: string;
  /** Network namespace to join (already set up by the node). */
  netnsPath: string;
  limits: SandboxLimits;
  /** The init command, e.g. tini running envd. */
  args: string[];
  env: Record<string, string>;
  binds: BindMount[];
  /** The sandbox's own user namespace; omitted = root inside is root on the host. */
  userns?: { path: string; uidBase: number; size: number };
  /**
   * The log of the init process's stdout and stderr, kept by the node (capped and rotated to
   * `<logFile>.1`); the sandbox itself never holds it open.
   */
  logFile: string;
}

/** What a runtime needs to take up a running sandbox's output again after a node restart. */
export type RuntimeSandboxOutput = Pick<RuntimeSandboxSpec, "sandboxId" | "dir" | "logFile">;

/** The runtime's view of a sandbox. */
export type RuntimeStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface RuntimeSandboxState {
  sandboxId: string;
  status: RuntimeStatus;
  /** Host pid of the sandbox's init, while it has one. */
  pid?: number;
}

/**
 * One isolation technology (containers today, VMs later) behind the
 * operations the node needs. Every method throws NodeError; kill is
 * idempotent so it can clean up half-created sandboxes.
 */
export interface SandboxRuntime {
  /** e.g. "crun 1.8.1", shown in `cove node` output. */
  readonly description: string;
  create(spec: RuntimeSandboxSpec): Promise<void>;
  start(sandboxId: string): Promise<void>;
  pause(sandboxId: string): Promise<void>;
  resume(sandboxId: string): Promise<void>;
  /** Changes cpu/memory/pids limits of a live sandbox; `cpus` sets quota and weight together (`background` lowers the weight). */
  update(sandboxId: string, limits: SandboxLimits): Promise<void>;
  /** Kills every process of the sandbox and removes the runtime's state and cgroups. */
  kill(sandboxId: string): Promise<void>;
  inspect(sandboxId: string): Promise<RuntimeSandboxState | undefined>;
  /** Resumes reading the output of a sandbox a previous node started. */
  adopt(sandbox: RuntimeSandboxOutput): Promise<void>;
  /** Stops reading every sandbox's output (the node is closing; the sandboxes keep running). */
  close(): void;
  list(): Promise<RuntimeSandboxState[]>;
  /** Removes state shared by all sandboxes (cgroup parents, state dir); only when none remain. */
  destroy(): Promise<void>;
}
