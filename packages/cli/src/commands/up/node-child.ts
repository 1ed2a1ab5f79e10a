import { fork, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { createReadinessGate } from "./readiness.js";

export interface NodeReady {
  host: string;
  port: number;
  secret: string;
  recovered: number;
  runtime: string;
  cgroupMode: string;
}

export interface NodeChildOptions {
  dataDir: string;
  poolSize?: string | undefined;
  poolMax?: string | undefined;
  runtime?: string | undefined;
  logLevel: string;
  killOnExit: boolean;
  /** Fixed, so a restarted node answers at the same URL. 0 = pick a free one now. */
  port: number;
  logger: Logger;
}

export interface NodeChild {
  ready: NodeReady;
  /** Resolves at once while the node is up; while it restarts, when it is back (rejects after timeoutMs). */
  whenReady(timeoutMs: number): Promise<void>;
  /** SIGTERM, then wait for the node to finish its own shutdown. */
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL("../../../bin/cove.js", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

/**
 * `cove up`'s node runs as its own process: the node spawns a dozen helpers per sandbox
 * (crun, ip, nft, mount…), and fork() from a process that also holds the embedded database
 * (~800 MB resident) costs 6× more per spawn (decision 0009). The child has its own process
 * group, so a terminal's Ctrl-C reaches only us and we stop it in order; it stops by itself
 * when the IPC channel closes, so it never outlives us. If it dies, it is restarted on the
 * same port and re-adopts its sandboxes.
 */
export async function startNodeChild(options: NodeChildOptions): Promise<NodeChild> {
  const port = options.port || (await freePort());
  const args = ["node", "--data-dir", options.dataDir, "--listen", `127.0.0.1:${port}`, "--log-level", options.logLevel];
  if (options.poolSize !== undefined) args.push("--pool-size", options.poolSize);
  if (options.poolMax !== undefined) args.push("--pool-max", options.poolMax);
  if (options.runtime !== undefined) args.push("--runtime", options.runtime);
  if (options.killOnExit) args.push("--kill-on-exit");
  let stopping = false;
  let everReady = false;
  let child: ChildProcess;
  // Closed from a crash until a node is ready again; callers wait on it instead of failing.
  const gate = createReadinessGate();

  const spawnOnce = () =>
    new Promise<NodeReady>((resolve, reject) => {
      // Its stdout (status lines) joins our stderr: our stdout carries only the export lines.
      child = fork(CLI, args, { detached: true, stdio: ["ignore", "pipe", "inherit", "ipc"] });
      child.stdout?.pipe(process.stderr);
      child.once("message", (m: { type?: string } & NodeReady) => {
        if (m.type !== "ready") return;
        everReady = true;
        gate.up();
        resolve(m);
      });
      child.once("exit", (code, signal) => {
        reject(new Error(`the node exited (${signal ?? code}) before it was ready`));
        if (stopping || !everReady) return;
        options.logger.error({ code, signal }, "the node exited; restarting it");
        gate.down();
        setTimeout(() => {
          // Stopped during the pause: no node to start, and none left behind.
          if (!stopping) void spawnOnce().catch((err: unknown) => options.logger.error({ err }, "restarting the node failed"));
        }, 1000).unref();
      });
    });

  const ready = await spawnOnce();
  return {
    ready,
    whenReady: (timeoutMs) => gate.wait(timeoutMs),
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
