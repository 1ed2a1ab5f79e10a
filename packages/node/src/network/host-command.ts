import { CommandError, runCommand } from "../exec/run-command.js";
import { NodeError } from "../errors.js";
import type { Spawner } from "@cove/protocol/spawner";

/** Network commands are quick; one that hangs must not hold a sandbox's create for a minute. */
const networkCommandTimeoutMs = 30_000;

/**
 * Runs an `ip`/`nft`/`sysctl` argv with `input` on stdin and resolves its stdout. A command that
 * cannot start becomes `unavailable` with the packages to install; a failing one rejects with
 * the CommandError (its stderr is kept for logs, never for clients).
 */
export async function exec(argv: readonly string[], input = "", spawner?: Spawner): Promise<string> {
  try {
    return (await runCommand(argv, { input, timeoutMs: networkCommandTimeoutMs, ...(spawner ? { spawner } : {}) })).stdout;
  } catch (err) {
    if (err instanceof CommandError && err.errno !== undefined) {
      const cmd = argv[0] ?? "";
      const hint = err.errno === "ENOENT" ? ` (${cmd} missing: apt-get install iproute2 nftables procps util-linux)` : "";
      throw new NodeError("unavailable", `cannot run ${cmd}${hint}`, { cause: err });
    }
    throw err;
  }
}

/** `ip -batch` stops at the first failing line and reports it as "Command failed -:N". */
export function failedBatchLine(err: unknown): number | undefined {
  if (!(err instanceof CommandError)) return undefined;
  const m = /Command failed -:(\d+)/.exec(err.stderr);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export function runtimeFailed(message: string, cause: unknown): NodeError {
  return new NodeError("runtime_failed", message, { cause });
}
