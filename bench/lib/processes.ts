// Process helpers for benchmarks: free ports, spawn-to-ready timing, memory of a pid.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the HTTP status of GET url, or rejects on a connection error. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", reject);
  });
}

/** Milliseconds for one Connect unary call with a JSON body; any answer counts. */
export function timeConnectCall(url: string, body: unknown): Promise<number> {
  const payload = JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", "connect-protocol-version": "1" } }, (res) => {
      res.resume();
      res.once("end", () => resolve(performance.now() - started));
    });
    req.once("error", reject);
    req.end(payload);
  });
}

export interface ReadyTiming {
  ms: number;
  child: ChildProcess;
}

/**
 * Spawns `command` and measures the time until GET `healthUrl` first answers
 * 2xx. The caller stops the returned child (see stopChild).
 */
export async function spawnUntilHealthy(command: readonly string[], healthUrl: string, timeoutMs = 15_000): Promise<ReadyTiming> {
  const [file, ...args] = command;
  if (!file) throw new Error("empty command");
  const started = performance.now();
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    try {
      const status = await probe(healthUrl);
      if (status >= 200 && status < 300) return { ms: performance.now() - started, child };
    } catch {
      // Not listening yet.
    }
    if (exited || performance.now() - started > timeoutMs) {
      await stopChild(child);
      throw new Error(`${command.join(" ")} did not become healthy (${exited ? "it exited" : "timeout"})\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Memory {
  pssMb: number;
  rssMb: number;
}

/** PSS and RSS of one process from /proc/<pid>/smaps_rollup. */
export function memoryOf(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    if (!match) throw new Error(`no ${field} in /proc/${pid}/smaps_rollup`);
    return Number(match[1]);
  };
  return { pssMb: kb("Pss") / 1024, rssMb: kb("Rss") / 1024 };
}
