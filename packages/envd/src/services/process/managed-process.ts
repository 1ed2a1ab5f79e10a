import type { EndStatus } from "./end-status.js";
import type { OutputHub, Subscription } from "./subscription.js";

/** The request's ProcessConfig as List reports it back. */
export interface ProcessConfigInfo {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string | undefined;
}

/** Input and control of one spawned process; pipe and PTY processes differ only here. */
export interface ProcessIo {
  readonly pid: number;
  readonly isPty: boolean;
  writeStdin(data: Uint8Array): void;
  writePty(data: Uint8Array): void;
  closeStdin(): void;
  resize(cols: number, rows: number): void;
}

export interface ManagedProcess extends ProcessIo {
  readonly config: ProcessConfigInfo;
  readonly tag: string | undefined;
  /** Resolves once the process exited and its output was drained. */
  readonly ended: Promise<EndStatus>;
  /** True once the process was killed because its Start deadline passed. */
  readonly deadlineExceeded: boolean;
  /** Output from now on (or the end, if it already ended). */
  subscribe(): Subscription;
  /** Signals the process group, so children started by a shell go too. */
  signal(signal: "SIGTERM" | "SIGKILL"): void;
  /** Kills the process after ms (the Start request's Connect deadline), even with no client attached. */
  setDeadline(ms: number): void;
  /** Kills the process now as if its deadline passed. */
  expireDeadline(): void;
}

export interface ManagedProcessParts {
  io: ProcessIo;
  hub: OutputHub;
  ended: Promise<EndStatus>;
  config: ProcessConfigInfo;
  tag: string | undefined;
}

export function createManagedProcess(parts: ManagedProcessParts): ManagedProcess {
  const { io, hub, ended } = parts;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let deadlineExceeded = false;
  let exited = false;
  void ended.then(() => {
    exited = true;
    clearTimeout(deadlineTimer);
  });

  const signal = (name: "SIGTERM" | "SIGKILL"): void => {
    if (!exited) signalGroup(io.pid, name);
  };
  const expireDeadline = (): void => {
    if (exited) return;
    deadlineExceeded = true;
    signal("SIGKILL");
  };

  return {
    pid: io.pid,
    isPty: io.isPty,
    config: parts.config,
    tag: parts.tag,
    ended,
    get deadlineExceeded() {
      return deadlineExceeded;
    },
    subscribe: () => hub.subscribe(),
    writeStdin: (data) => io.writeStdin(data),
    writePty: (data) => io.writePty(data),
    closeStdin: () => io.closeStdin(),
    resize: (cols, rows) => io.resize(cols, rows),
    signal,
    setDeadline(ms) {
      clearTimeout(deadlineTimer);
      if (!exited) deadlineTimer = setTimeout(expireDeadline, Math.max(0, ms));
    },
    expireDeadline,
  };
}

/** Every process is a group leader (setsid), so -pid reaches it and its children. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone: nothing to signal.
    }
  }
}
