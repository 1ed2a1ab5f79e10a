// Fixtures for an envd that runs as its own process (the portable bundle, a
// chroot): start it from an argv, wait for its "listening" line, and stop it
// by its own pid. Connect the SDK to it with connectSdk({ url }).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface RemoteEnvd {
  url: string;
  port: number;
  /** pid of the process we spawned (for `unshare --fork`, the unshare parent). */
  pid: number;
  /** pid of envd itself, as the host sees it. */
  envdPid: number;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGTERM to envd, SIGKILL after `graceMs`; resolves once the spawned process exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartRemoteOptions {
  /** How long to wait for the "listening" line. */
  readyTimeoutMs?: number;
  /**
   * The command forks envd as its only child (`unshare --fork`): signal that
   * child, since unshare ignores SIGTERM while it waits.
   */
  envdIsChild?: boolean;
  env?: NodeJS.ProcessEnv;
}

const LISTENING = /listening on (\S+):(\d+)/;

export async function startRemoteEnvd(command: readonly string[], options: StartRemoteOptions = {}): Promise<RemoteEnvd> {
  const [file, ...args] = command;
  if (!file) throw new Error("startRemoteEnvd: empty command");
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));

  try {
    const port = await waitForListening(child, options.readyTimeoutMs ?? 15_000, (chunk) => (output += chunk));
    const pid = child.pid!;
    const envdPid = options.envdIsChild ? childPidOf(pid) : pid;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      pid,
      envdPid,
      output: () => output,
      stop: (graceMs = 5_000) => stopProcess(child, envdPid, exited, graceMs),
    };
  } catch (err) {
    const pid = child.pid;
    const target = pid !== undefined && options.envdIsChild ? tryChildPidOf(pid) : pid;
    await stopProcess(child, target, exited, 1_000);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- envd output ---\n${output}`);
  }
}

function waitForListening(child: ChildProcess, timeoutMs: number, onOutput: (chunk: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => finish(new Error(`envd printed no listening line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: string) => {
      stdout += chunk;
      onOutput(chunk);
      const match = LISTENING.exec(stdout);
      if (match) finish(undefined, Number(match[2]));
    };
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => finish(new Error(`envd exited before listening (code ${code}, signal ${signal})`));
    const finish = (err?: Error, port?: number) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("close", onClose);
      // Keep draining stdout so envd never blocks on a full pipe.
      child.stdout?.on("data", onOutput);
      if (err) reject(err);
      else resolve(port!);
    };
    child.stdout?.on("data", onData);
    child.once("close", onClose);
  });
}

async function stopProcess(child: ChildProcess, target: number | undefined, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signal(target, "SIGTERM");
  const timer = setTimeout(() => {
    signal(target, "SIGKILL");
    signal(child.pid, "SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function childPidOf(pid: number): number {
  const found = tryChildPidOf(pid);
  if (found === undefined) throw new Error(`process ${pid} has no child`);
  return found;
}

function tryChildPidOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}
