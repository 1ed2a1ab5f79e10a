import { spawn } from "node:child_process";
import { access, mkdir, open, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeError } from "../errors.js";
import { CommandError, runCommand } from "../exec/run-command.js";
import { readMounts } from "../storage/mountinfo.js";
import type { LxcfsObservation } from "./lxcfs-decide.js";

/** Where the node keeps its lxcfs: the mount dir, pidfile and log under `<dataDir>/lxcfs`. */
export interface LxcfsPaths {
  dir: string;
  mountDir: string;
  pidfile: string;
  logFile: string;
}

export function lxcfsPaths(dataDir: string): LxcfsPaths {
  const dir = join(dataDir, "lxcfs");
  return { dir, mountDir: join(dir, "mnt"), pidfile: join(dir, "lxcfs.pid"), logFile: join(dir, "lxcfs.log") };
}

/** Where Debian's lxcfs.service mounts it. */
export const systemLxcfsMount = "/var/lib/lxcfs";

/**
 * --enable-cfs: cpuinfo, stat and cpu/online count CPUs from the CFS quota, not the host's.
 * --enable-loadavg: loadavg per cgroup (a thread samples every cgroup's tasks each 5 s).
 * --enable-pidfd: no confusion when a reader's pid is recycled.
 */
export const lxcfsArgs = ["--enable-cfs", "--enable-loadavg", "--enable-pidfd"] as const;

/** The host side of lxcfs supervision; a fake stands in for it in the decision tests. */
export interface LxcfsHost {
  observe(): Promise<LxcfsObservation>;
  /** Is `pid` still alive (cheap: no FUSE access)? */
  alive(pid: number): boolean;
  /** Starts lxcfs detached in its own session; resolves with its pid once the mount answers. */
  start(): Promise<number>;
  /** SIGTERM (SIGKILL after a grace period) to a pid `observe` said is ours; lxcfs unmounts on exit. */
  kill(pid: number): Promise<void>;
  /** Lazily unmounts a stale mount (a dead daemon's, which answers ENOTCONN). */
  unmount(dir: string): Promise<void>;
  /** A mount dir of the host's own lxcfs (Debian's service) that answers, if there is one. */
  systemMount(): Promise<string | undefined>;
}

const startTimeoutMs = 10_000;
const killGraceMs = 3_000;

/** Whether a file under an lxcfs mount answers, within a bound: a hung daemon must not hang the node. */
async function answers(mountDir: string): Promise<boolean> {
  const probe = access(join(mountDir, "proc", "meminfo")).then(
    () => true,
    () => false,
  );
  return Promise.race([probe, sleep(2_000, false)]);
}

async function isLxcfsMount(dir: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === dir && m.fsType === "fuse.lxcfs");
}

export function createLxcfsHost(binary: string, paths: LxcfsPaths): LxcfsHost {
  const isOurs = async (pid: number): Promise<boolean> => {
    try {
      const exe = (await readlink(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, "");
      const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
      return exe.endsWith("/lxcfs") && argv.includes(paths.mountDir);
    } catch {
      return false;
    }
  };
  const readPid = async (): Promise<number | undefined> => {
    const text = await readFile(paths.pidfile, "utf8").catch(() => "");
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  const kill = async (pid: number): Promise<void> => {
    if (!alive(pid)) return;
    process.kill(pid, "SIGTERM");
    for (let waited = 0; alive(pid) && waited < killGraceMs; waited += 25) await sleep(25);
    if (alive(pid)) process.kill(pid, "SIGKILL");
    for (let waited = 0; alive(pid) && waited < killGraceMs; waited += 25) await sleep(25);
  };

  return {
    alive,

    async observe() {
      const pid = await readPid();
      const mounted = await isLxcfsMount(paths.mountDir);
      return {
        ...(pid !== undefined ? { pid } : {}),
        pidIsOurs: pid !== undefined && (await isOurs(pid)),
        mounted,
        answers: mounted && (await answers(paths.mountDir)),
      };
    },

    // Not through runCommand: that waits for the command to exit, and this one is a daemon that
    // must outlive the node (its own session, stdio on its log file, not the node's pipes).
    async start() {
      await mkdir(paths.mountDir, { recursive: true, mode: 0o755 });
      const log = await open(paths.logFile, "a", 0o600);
      let exited: string | undefined;
      let pid: number | undefined;
      try {
        const child = spawn(binary, [...lxcfsArgs, "--pidfile", paths.pidfile, paths.mountDir], {
          detached: true,
          stdio: ["ignore", log.fd, log.fd],
        });
        child.once("error", (err) => (exited = err.message));
        child.once("exit", (code, signal) => (exited = `exited ${code ?? signal}`));
        child.unref();
        pid = child.pid;
      } finally {
        await log.close();
      }
      const deadline = Date.now() + startTimeoutMs;
      while (exited === undefined && Date.now() < deadline) {
        if ((await isLxcfsMount(paths.mountDir)) && (await answers(paths.mountDir))) return pid!;
        await sleep(25);
      }
      if (exited === undefined && pid !== undefined) await kill(pid).catch(() => undefined);
      const tail = (await readFile(paths.logFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
      throw new NodeError("unavailable", `lxcfs did not mount ${paths.mountDir} (${exited ?? "timed out"}): ${tail}`);
    },

    kill,

    async unmount(dir) {
      try {
        await runCommand(["umount", "-l", dir], { timeoutMs: 10_000 });
      } catch (err) {
        if (err instanceof CommandError && /not mounted/i.test(err.stderr)) return;
        throw new NodeError("runtime_failed", `cannot unmount stale lxcfs at ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },

    async systemMount() {
      return (await isLxcfsMount(systemLxcfsMount)) && (await answers(systemLxcfsMount)) ? systemLxcfsMount : undefined;
    },
  };
}
