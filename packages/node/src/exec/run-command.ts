import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

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

/**
 * The node's one way to run a host command: argv without a shell, a timeout on every call,
 * optional stdin and line streaming. Resolves with the output when the command exits 0;
 * rejects with a CommandError otherwise.
 */
export function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === "") return Promise.reject(new CommandError(argv, null, "", { errno: "EINVAL" }));
  const timeoutMs = options.timeoutMs ?? defaultCommandTimeoutMs;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      ...(options.env ? { env: options.env } : {}),
    });
    // Piped above, so never null.
    const out = child.stdout!;
    const errOut = child.stderr!;
    const stdout = collector();
    const stderr = collector();
    const tail: string[] = [];
    const onLine = options.onLine;
    if (onLine) {
      const line = (l: string) => {
        tail.push(l);
        if (tail.length > tailLines) tail.shift();
        onLine(l);
      };
      createInterface({ input: out }).on("line", line);
      createInterface({ input: errOut }).on("line", line);
    } else {
      out.on("data", (d: Buffer) => stdout.add(d));
      errOut.on("data", (d: Buffer) => stderr.add(d));
    }

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), killGraceMs);
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
    };

    child.once("error", (err: NodeJS.ErrnoException) => {
      done();
      reject(new CommandError(argv, null, "", { errno: err.code ?? "unknown", cause: err }));
    });
    child.once("close", (code, signal) => {
      done();
      const errText = onLine ? tail.join("\n") : stderr.text();
      if (code === 0 && !timedOut) resolve({ stdout: stdout.text(), stderr: errText });
      else reject(new CommandError(argv, code, errText, { stdout: stdout.text(), signal, timedOut }));
    });
    if (child.stdin) {
      // EPIPE if the command exits before reading its input; its exit code tells the real story.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}
