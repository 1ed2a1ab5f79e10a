import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { NodeError } from "../errors.js";

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Called for every line the command prints (stdout and stderr). */
  onLine?: (line: string) => void;
}

/**
 * Runs argv (no shell) and resolves when it exits 0; otherwise rejects with
 * the last lines it printed, which is what an operator needs to see.
 */
export function runCommand(argv: string[], options: RunOptions = {}): Promise<void> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new NodeError("invalid_argument", "empty command");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      options.onLine?.(line);
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.once("error", (err) => reject(new NodeError("runtime_failed", `cannot run ${cmd}: ${err.message}`, { cause: err })));
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new NodeError("runtime_failed", `${cmd} failed (${signal ?? `exit ${code}`}):\n${tail.join("\n")}`),
        );
    });
  });
}

/**
 * Runs argv inside `rootfs` with its own /proc and the host's /dev, in a
 * private mount namespace, so nothing stays mounted when it ends (even if we
 * crash). The rootfs path is passed as a positional parameter, never spliced
 * into the script.
 */
export function runInChroot(rootfs: string, argv: string[], options: RunOptions = {}): Promise<void> {
  const script = 'r=$1; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"';
  return runCommand(["unshare", "--mount", "--propagation", "private", "--fork", "--", "sh", "-c", script, "sh", rootfs, ...argv], options);
}
