/**
 * Cove's kernel protocol. A kernel is a child process in its own process
 * group with these pipes:
 *   fd 0  /dev/null (bash: the driver's commands; each cell gets /dev/null)
 *   fd 1  the user's stdout, fd 2 the user's stderr
 *   fd 3  events from the kernel, one JSON object per line
 *   fd 4  commands from the server, one JSON object per line
 * The kernel writes {"type":"ready"} once it accepts commands. For each
 * command it writes "started", then any "stream" (output the kernel itself
 * captured, ordered with the results), "result" and "error" events while the
 * user's programs write to fd 1 and 2, then the command's token to fd 1 and to
 * fd 2, then "done". The token tells the server that both output pipes hold
 * nothing more of this execution. SIGINT to the group interrupts the code.
 */
export type KernelEvent =
  | { type: "ready" }
  | { type: "started"; execution_count: number }
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | { type: "result"; main: boolean; data: Record<string, unknown> }
  | { type: "error"; name: string; value: string; traceback: string }
  | { type: "done"; status?: number };

export interface ExecuteRequest {
  code: string;
  /** Environment variables set for this execution only. Names are valid identifiers. */
  env: Readonly<Record<string, string>>;
}

/** Where an execution's output goes, in the order the kernel produced it per stream. */
export interface ExecutionSink {
  started(executionCount: number): void;
  stdout(text: string): void;
  stderr(text: string): void;
  result(data: Record<string, unknown>, isMainResult: boolean): void;
  error(name: string, value: string, traceback: string): void;
}

/** How an execution ended: the kernel finished it, or the kernel process died during it. */
export type ExecutionEnd = "done" | "died";

export function parseKernelEvent(line: string): KernelEvent | undefined {
  try {
    const event = JSON.parse(line) as unknown;
    if (typeof event === "object" && event !== null && typeof (event as { type?: unknown }).type === "string") return event as KernelEvent;
  } catch {
    // not an event (a user's program wrote to fd 3): ignored
  }
  return undefined;
}

/**
 * A sink that holds output until `started` has been reported, so the
 * execution count always comes first even when a kernel's stdout pipe is
 * read before its event pipe. `release` lets held output out regardless (an
 * execution that ended without "started").
 */
export function startedFirst(sink: ExecutionSink): ExecutionSink & { release(): void } {
  let held: (() => void)[] | undefined = [];
  const later = (call: () => void) => (held ? held.push(call) : call());
  const release = () => {
    const calls = held ?? [];
    held = undefined;
    for (const call of calls) call();
  };
  return {
    started(count) {
      sink.started(count);
      release();
    },
    stdout: (text) => later(() => sink.stdout(text)),
    stderr: (text) => later(() => sink.stderr(text)),
    result: (data, isMain) => later(() => sink.result(data, isMain)),
    error: (name, value, traceback) => later(() => sink.error(name, value, traceback)),
    release,
  };
}
