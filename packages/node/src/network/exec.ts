import { spawn } from "node:child_process";
import { NodeError } from "../errors.js";

/** A failed command: its stderr is kept for logs, never for clients. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")} exited ${exitCode}: ${stderr.trim()}`);
  }
}

/** Runs argv (never a shell) with `input` on stdin; resolves stdout, rejects with a CommandError. */
export function exec(argv: readonly string[], input = ""): Promise<string> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new NodeError("invalid_argument", "empty command");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", (err: NodeJS.ErrnoException) => {
      const hint = err.code === "ENOENT" ? ` (${cmd} missing: apt-get install iproute2 nftables procps util-linux)` : "";
      reject(new NodeError("unavailable", `cannot run ${cmd}${hint}`, { cause: err }));
    });
    child.once("close", (code) => (code === 0 ? resolve(stdout) : reject(new CommandError(argv, code, stderr))));
    // EPIPE if the command exits before reading stdin; its exit code tells the real story.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
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
