import { constants } from "node:os";

/** What ProcessEvent.EndEvent carries; shaped like Go's os.ProcessState, which the SDK shows users. */
export interface EndStatus {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string | undefined;
}

/** Go's text for each signal (syscall.Signal.String), so messages read as with upstream envd. */
const signalText: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
  SIGXCPU: "CPU time limit exceeded",
  SIGXFSZ: "file size limit exceeded",
};

/**
 * Maps how a process ended to the EndEvent fields: exit 0 → exited, no error;
 * exit N → "exit status N"; killed by a signal → exitCode -1, exited false,
 * "signal: killed". `signal` is a name ("SIGKILL") or number (node-pty gives numbers).
 */
export function endStatus(code: number | null, signal: NodeJS.Signals | number | null | undefined): EndStatus {
  const name = typeof signal === "number" ? signalName(signal) : signal;
  if (name) {
    const text = `signal: ${signalText[name] ?? name}`;
    return { exitCode: -1, exited: false, status: text, error: text };
  }
  const exitCode = code ?? -1;
  const status = `exit status ${exitCode}`;
  return exitCode === 0 ? { exitCode, exited: true, status } : { exitCode, exited: true, status, error: status };
}

function signalName(signal: number): NodeJS.Signals | undefined {
  if (signal === 0) return undefined;
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return (entry?.[0] as NodeJS.Signals | undefined) ?? (`signal ${signal}` as NodeJS.Signals);
}
