import { NodeError } from "../../errors.js";
import { CommandError, runCommand, type CommandResult } from "../../exec/run-command.js";
import type { Spawner } from "@cove/protocol/spawner";

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
export async function runOci(argv: readonly string[], timeoutMs = 30_000, spawner?: Spawner): Promise<OciCommandResult> {
  try {
    return await runCommand(argv, { timeoutMs, ...(spawner ? { spawner } : {}) });
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
 * from the FIFO since the start. Its own session: the sandbox must not share our
 * process group, or a Ctrl-C (SIGINT to the terminal's group) aimed at the node
 * would reach it. Opening the FIFO does not block: the node holds it open read-write.
 */
export async function runOciDetached(argv: readonly string[], output: DetachedOutput, timeoutMs = 60_000, spawner?: Spawner): Promise<void> {
  if (!argv[0]) throw new NodeError("invalid_argument", "empty command");
  const start = output.mark();
  try {
    await runCommand(argv, { outputPath: output.fifo, setsid: true, timeoutMs, ...(spawner ? { spawner } : {}) });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    if (err.errno !== undefined) throw new NodeError("runtime_failed", `cannot run ${argv[0]}: ${err.errno}`, { cause: err });
    // The runtime has exited: all it wrote is in the pipe now.
    output.drain();
    const why = err.timedOut ? `timed out after ${timeoutMs} ms` : err.signal ? `killed by ${err.signal}` : "";
    throw new OciCommandError(argv, err.exitCode, [output.textSince(start).trimEnd(), why].filter(Boolean).join("\n"));
  }
}
