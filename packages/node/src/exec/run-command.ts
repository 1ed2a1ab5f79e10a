import { childProcessSpawner, SpawnFailure, type Spawner } from "@cove/protocol/spawner";

/** Every host command gets one; callers that run long builds pass more, callers that must stay snappy pass less. */
export const defaultCommandTimeoutMs = 60_000;
/** After the timeout's SIGTERM, how long a command may take to exit before SIGKILL. */
const killGraceMs = 5_000;
/** Collected output per stream; more is dropped (a runaway command must not exhaust the node's memory). */
const maxCollectedBytes = 16 * 1024 * 1024;
/** Lines kept for the error when output is streamed instead of collected. */
const tailLines = 20;

export interface RunCommandOptions {
  /** Written to the command's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Default `defaultCommandTimeoutMs`. The command gets SIGTERM at the timeout, SIGKILL a little later. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Streams every line of stdout and stderr here instead of collecting them; the result's
   * stdout is then empty and a failure's `stderr` holds the last lines of both streams.
   */
  onLine?: (line: string) => void;
  /** stdout and stderr go to this file (a FIFO the node reads) instead: nothing is collected or streamed. */
  outputPath?: string;
  /** Its own session and process group, so a Ctrl-C aimed at the node does not reach it. */
  setsid?: boolean;
  /** How the command is started; Node's child_process unless the node passes its cove-spawn helper. */
  spawner?: Spawner;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Why a command did not succeed: it could not start (`errno` set, e.g. ENOENT), it ran out of
 * time (`timedOut`), or it exited non-zero. Its text is for logs and operators; each module
 * maps it to its own NodeError for callers.
 */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly details: { stdout?: string; signal?: NodeJS.Signals | null; timedOut?: boolean; errno?: string; cause?: unknown } = {},
  ) {
    super(CommandError.describe(argv, exitCode, stderr, details), details.cause === undefined ? undefined : { cause: details.cause });
  }

  get stdout(): string {
    return this.details.stdout ?? "";
  }
  get signal(): NodeJS.Signals | null {
    return this.details.signal ?? null;
  }
  get timedOut(): boolean {
    return this.details.timedOut ?? false;
  }
  /** The spawn error's code when the command never ran (ENOENT: not installed). */
  get errno(): string | undefined {
    return this.details.errno;
  }

  private static describe(argv: readonly string[], exitCode: number | null, stderr: string, d: CommandError["details"]): string {
    const cmd = argv.join(" ");
    if (d.errno !== undefined) return `cannot run ${argv[0]}: ${d.errno}`;
    if (d.timedOut) return `${cmd} timed out: ${stderr.trim()}`;
    return `${cmd} exited ${exitCode ?? d.signal}: ${stderr.trim()}`;
  }
}

/** Appends to a buffer up to the collection cap. */
function collector() {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk: Buffer) {
      if (size >= maxCollectedBytes) return;
      const part = chunk.subarray(0, maxCollectedBytes - size);
      chunks.push(part);
      size += part.length;
    },
    text: () => Buffer.concat(chunks).toString("utf8"),
  };
}

/** Splits a byte stream into lines (a trailing partial line comes out at `end`). */
function lineSplitter(onLine: (line: string) => void) {
  let rest = "";
  return {
    add(chunk: Buffer) {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) onLine(l.endsWith("\r") ? l.slice(0, -1) : l);
    },
    end() {
      if (rest !== "") onLine(rest);
      rest = "";
    },
  };
}

/**
 * The node's one way to run a host command: argv without a shell, a timeout on every call,
 * optional stdin and line streaming. Resolves with the output when the command exits 0;
 * rejects with a CommandError otherwise.
 */
export async function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  if (argv[0] === undefined || argv[0] === "") throw new CommandError(argv, null, "", { errno: "EINVAL" });
  const timeoutMs = options.timeoutMs ?? defaultCommandTimeoutMs;
  const stdout = collector();
  const stderr = collector();
  const tail: string[] = [];
  const onLine = options.onLine;
  const lines = onLine
    ? {
        stdout: lineSplitter((l) => {
          tail.push(l);
          if (tail.length > tailLines) tail.shift();
          onLine(l);
        }),
        stderr: lineSplitter((l) => {
          tail.push(l);
          if (tail.length > tailLines) tail.shift();
          onLine(l);
        }),
      }
    : undefined;
  const command = (options.spawner ?? childProcessSpawner).start(argv, {
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.outputPath !== undefined ? { outputPath: options.outputPath } : {}),
    ...(options.setsid ? { setsid: true } : {}),
    onOutput: (stream, chunk) => (lines ? lines[stream].add(chunk) : (stream === "stdout" ? stdout : stderr).add(chunk)),
  });
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    command.kill("SIGTERM");
    killTimer = setTimeout(() => command.kill("SIGKILL"), killGraceMs);
  }, timeoutMs);
  let exit: Awaited<typeof command.exited>;
  try {
    exit = await command.exited;
  } catch (err) {
    throw new CommandError(argv, null, "", { errno: err instanceof SpawnFailure ? err.errno : "unknown", cause: err });
  } finally {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
  }
  lines?.stdout.end();
  lines?.stderr.end();
  const errText = onLine ? tail.join("\n") : stderr.text();
  if (exit.code === 0 && !timedOut) return { stdout: stdout.text(), stderr: errText };
  throw new CommandError(argv, exit.code, errText, { stdout: stdout.text(), signal: exit.signal, timedOut });
}
