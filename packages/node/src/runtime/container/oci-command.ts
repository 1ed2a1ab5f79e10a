import { spawn } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { NodeError } from "../../errors.js";
import { CommandError, runCommand, type CommandResult } from "../../exec/run-command.js";

export type OciCommandResult = CommandResult;

/** Failure of an OCI runtime command, with what the runtime printed. */
export class OciCommandError extends NodeError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super("runtime_failed", `${argv[0]} ${argv.slice(1).join(" ")} failed (exit ${exitCode}): ${output.trim().slice(-2000)}`);
  }
}

/** Runs a short runtime command (state, kill, pause, ...) and captures its output. */
export async function runOci(argv: readonly string[], timeoutMs = 30_000): Promise<OciCommandResult> {
  try {
    return await runCommand(argv, { timeoutMs });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    throw new OciCommandError(argv, err.exitCode, `${err.stderr}${err.stdout}` || err.message);
  }
}

/** Where a detached container's stdout and stderr go: a FIFO the node reads (see log-pipe.ts). */
export interface DetachedOutput {
  readonly fifo: string;
  mark(): number;
  drain(): void;
  textSince(mark: number): string;
}

/**
 * Runs `create`/`run --detach`, whose container keeps the command's stdout and
 * stderr open after the runtime exits. They therefore go to the write end of
 * the sandbox's output FIFO (never to a pipe we would wait on, never to a host
 * file); on failure the runtime's own lines are taken from what the node read
 * from the FIFO since the start.
 */
export function runOciDetached(argv: readonly string[], output: DetachedOutput, timeoutMs = 60_000): Promise<void> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new NodeError("invalid_argument", "empty command");
  // Does not block: the node holds the FIFO open read-write.
  const fd = openSync(output.fifo, constants.O_WRONLY);
  const start = output.mark();
  return new Promise<void>((resolve, reject) => {
    // detached: the sandbox must not share our session or process group, or a
    // Ctrl-C (SIGINT to the terminal's group) aimed at the node would reach it.
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], timeout: timeoutMs, detached: true });
    child.once("error", (err) => reject(new NodeError("runtime_failed", `cannot run ${cmd}: ${err.message}`, { cause: err })));
    child.once("exit", (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      // The runtime has exited: all it wrote is in the pipe now.
      output.drain();
      reject(new OciCommandError(argv, code, output.textSince(start) || (signal ? `killed by ${signal}` : "")));
    });
  }).finally(() => closeSync(fd));
}
