import { CommandError, runCommand, type RunCommandOptions } from "../exec/run-command.js";
import { NodeError } from "../errors.js";

/** A template step (debootstrap, apt-get install) downloads and unpacks hundreds of packages. */
export const templateStepTimeoutMs = 30 * 60_000;

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Called for every line the command prints (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Default `templateStepTimeoutMs`. */
  timeoutMs?: number;
}

/**
 * Runs a build step and resolves when it exits 0; otherwise rejects with the last lines it
 * printed, which is what an operator needs to see.
 */
export async function runStep(argv: string[], options: RunOptions = {}): Promise<void> {
  const cmd = argv[0] ?? "";
  const run: RunCommandOptions = {
    timeoutMs: options.timeoutMs ?? templateStepTimeoutMs,
    // Always streamed: the error then carries the last lines of both streams.
    onLine: options.onLine ?? (() => {}),
    ...(options.env ? { env: options.env } : {}),
  };
  try {
    await runCommand(argv, run);
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    if (err.errno !== undefined) throw new NodeError("runtime_failed", `cannot run ${cmd}: ${err.errno}`, { cause: err });
    const why = err.timedOut ? `timed out after ${run.timeoutMs} ms` : (err.signal ?? `exit ${err.exitCode}`);
    throw new NodeError("runtime_failed", `${cmd} failed (${why}):\n${err.stderr}`, { cause: err });
  }
}

/** An overlay to chroot into instead: `rootfs` below, `upperDir` taking the writes, mounted at `mountPoint`. */
export interface ChrootOverlay {
  upperDir: string;
  workDir: string;
  mountPoint: string;
}

/**
 * Runs argv inside `rootfs` (or an overlay over it) with its own /proc and the host's /dev, in a
 * private mount namespace, so nothing stays mounted when it ends (even if we crash). Paths are
 * passed as positional parameters, never spliced into the script.
 */
export function runInChroot(rootfs: string, argv: string[], options: RunOptions & { overlay?: ChrootOverlay } = {}): Promise<void> {
  const { overlay, ...run } = options;
  const chroot = 'mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"';
  const unshare = ["unshare", "--mount", "--propagation", "private", "--fork", "--", "sh", "-c"];
  if (!overlay) return runStep([...unshare, `r=$1; shift; ${chroot}`, "sh", rootfs, ...argv], run);
  const mount = 'l=$1 u=$2 w=$3 r=$4; shift 4; mount -t overlay overlay -o "lowerdir=$l,upperdir=$u,workdir=$w" "$r" && ';
  return runStep([...unshare, `${mount}${chroot}`, "sh", rootfs, overlay.upperDir, overlay.workDir, overlay.mountPoint, ...argv], run);
}
