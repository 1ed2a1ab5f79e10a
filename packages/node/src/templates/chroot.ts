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

/**
 * Runs argv inside `rootfs` with its own /proc and the host's /dev, in a
 * private mount namespace, so nothing stays mounted when it ends (even if we
 * crash). The rootfs path is passed as a positional parameter, never spliced
 * into the script.
 */
export function runInChroot(rootfs: string, argv: string[], options: RunOptions = {}): Promise<void> {
  const script = 'r=$1; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"';
  return runStep(["unshare", "--mount", "--propagation", "private", "--fork", "--", "sh", "-c", script, "sh", rootfs, ...argv], options);
}
