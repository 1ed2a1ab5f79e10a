import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
/** Built once by the node suites (or `cove template build base --data-dir /var/tmp/cove-test`). */
export const testTemplatesDir = "/var/tmp/cove-test/templates";

export interface CoveUp {
  proc: ChildProcess;
  url: string;
  apiKey: string;
  /** E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY as printed. */
  exports: Record<string, string>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after timeoutMs, which fails the caller). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface CoveUpOptions {
  dataDir: string;
  /** Network prefix and CIDR no other suite uses. */
  prefix: string;
  cidr: string;
  args?: string[];
  env?: Record<string, string>;
}

/** Starts `cove up --port 0` as a user would and waits for the three export lines. */
export async function startCoveUp(options: CoveUpOptions): Promise<CoveUp> {
  const args = ["up", "--port", "0", "--data-dir", options.dataDir, "--pool-size", "1", ...(options.args ?? [])];
  const env = {
    COVE_TEMPLATES_DIR: testTemplatesDir,
    COVE_NETWORK_PREFIX: options.prefix,
    COVE_SANDBOX_CIDR: options.cidr,
    COVE_SANDBOX_DNS: "127.0.0.1",
    COVE_LOG_LEVEL: "warn",
    ...options.env,
  };
  const up = await spawnCove(args, env, /^export E2B_API_URL=(.*)\nexport E2B_SANDBOX_URL=(.*)\nexport E2B_API_KEY=(.*)$/m, 180_000);
  const [, url, sandboxUrl, apiKey] = up.match as unknown as [string, string, string, string];
  return {
    proc: up.proc,
    url,
    apiKey,
    exports: { E2B_API_URL: url, E2B_SANDBOX_URL: sandboxUrl, E2B_API_KEY: apiKey },
    stdout: up.stdout,
    stderr: up.stderr,
    stop: up.stop,
  };
}

/** A fresh database on the Postgres server in COVE_TEST_DATABASE_URL, dropped by the returned function. */
export async function createTestDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const pg = (await import("pg")).default;
  const name = `cove_e2e_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface Spawned {
  proc: ChildProcess;
  /** What it was started with, to start it again. */
  args: string[];
  env: Record<string, string>;
  match: RegExpMatchArray;
  stdout(): string;
  stderr(): string;
  output(): string;
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Runs `cove <args>` until its stdout matches `ready` (a part started on its own). */
export async function spawnCove(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 120_000): Promise<Spawned> {
  const proc = spawn(process.execPath, ["packages/cli/bin/cove.js", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cove ${args[0]} not ready in ${timeoutMs / 1000} s:\n${out}\n${err}`)), timeoutMs);
    const check = () => {
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`cove ${args[0]} exited (${code}):\n${out}\n${err}`));
    });
  });
  return {
    proc,
    args,
    env,
    match,
    stdout: () => out,
    stderr: () => err,
    output: () => `${out}\n${err}`,
    async stop(timeoutMs = 60_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * After a failed test, sandboxes may be left in a data dir (cove up keeps them by default):
 * one more start with --kill-on-exit re-adopts and kills them, so nothing outlives the suite.
 * A node stopped without --kill-on-exit also keeps its nft table (for sandboxes it could
 * re-adopt); the suite's own table, named by its prefix, goes with the suite.
 */
export async function killLeftovers(options: CoveUpOptions): Promise<void> {
  const dir = `${options.dataDir}/sandboxes`;
  const { readdirSync, existsSync } = await import("node:fs");
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    const up = await startCoveUp({ ...options, args: [...(options.args ?? []), "--kill-on-exit"] });
    await up.stop();
  }
  await new Promise<void>((resolve) => execFile("nft", ["delete", "table", "inet", `cove_${options.prefix}`], () => resolve()));
}
