// `npm run bench -- e2e [--runs N] [--concurrent N] [--clients N] [--seconds N] [--database-url postgres://…] [--pool-demand-only] [--cove-log FILE]`
//
// The whole product as a user meets it: `cove up` in a child process, the
// official e2b SDK in this one. In the same run and on the same node:
//   - node-level create (CreateSandbox over the node API, what the api calls)
//     interleaved with SDK Sandbox.create() + commands.run('echo hi'),
//     sequentially, with the warm pool off (cold) and on (cove up's default);
//   - `concurrent` SDK create + exec at once;
//   - commands.run('true') per second with `clients` concurrent callers,
//     through the gateway and straight to the sandbox's envd (the baseline);
//   - the warm pool under demand (bench/pool-demand.ts): sequential and 2-caller
//     creates at the default settings, against the pool as it was (fixed at 2,
//     one refill at a time) and other refill concurrencies.
// The ratios say what the api + proxy cost on top of the node. Run as root.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Sandbox } from "e2b";
import { createNodeClient, type NodeClient } from "../packages/protocol/src/nodeapi-client.js";
import { fmt, line, median, percentile, positive } from "./lib/stats.js";
import { measureDemand } from "./pool-demand.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const TEMPLATES = "/var/tmp/cove-test/templates";
const PREFIX = "cb";
const CIDR = "10.212.0.0/22";
/** Lets the warm pool refill between sequential creates, so each one finds it full. */
const POOL_SETTLE_MS = 400;

export interface Up {
  child: ChildProcess;
  url: string;
  apiKey: string;
  node: NodeClient;
  stop(): Promise<void>;
}

export async function startUp(
  dataDir: string,
  poolSize: number,
  databaseUrl: string | undefined,
  poolArgs: string[] = [],
  poolEnv: Record<string, string> = {},
  logFile?: string,
): Promise<Up> {
  const dbArgs = databaseUrl ? ["--database-url", databaseUrl] : [];
  const child = spawn(
    process.execPath,
    [
      join(repo, "packages/cli/bin/cove.js"),
      "up",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      "--pool-size",
      String(poolSize),
      "--kill-on-exit",
      ...poolArgs,
      ...dbArgs,
    ],
    {
      cwd: repo,
      env: {
        ...process.env,
        ...poolEnv,
        COVE_TEMPLATES_DIR: TEMPLATES,
        COVE_NETWORK_PREFIX: PREFIX,
        COVE_SANDBOX_CIDR: CIDR,
        COVE_SANDBOX_DNS: "127.0.0.1",
        COVE_LOG_LEVEL: logFile ? "debug" : "warn",
        COVE_TEAM_SANDBOX_LIMIT: "1000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const deadline = Date.now() + 180_000;
  while (!/E2B_API_KEY=/.test(out)) {
    if (child.exitCode !== null) throw new Error(`cove up exited:\n${err}`);
    if (Date.now() > deadline) throw new Error(`cove up not ready in 180 s:\n${err}`);
    await sleep(50);
  }
  const url = /E2B_API_URL=(\S+)/.exec(out)![1]!;
  const apiKey = /E2B_API_KEY=(\S+)/.exec(out)![1]!;
  const nodeUrl = /node API (http:\/\/\S+?)\)/.exec(err)?.[1];
  if (!nodeUrl) throw new Error(`cove up did not say where its node API is:\n${err}`);
  const node = createNodeClient({ baseUrl: nodeUrl, secret: readFileSync(join(dataDir, "node-secret"), "utf8").trim() });
  return {
    child,
    url,
    apiKey,
    node,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
        await exited;
        clearTimeout(t);
      }
      if (logFile) appendFileSync(logFile, err);
      err = "";
    },
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "50" },
      concurrent: { type: "string", default: "20" },
      clients: { type: "string", default: "10" },
      seconds: { type: "string", default: "10" },
      // A Postgres server instead of the embedded PGlite; the bench makes and drops its own database there.
      "database-url": { type: "string" },
      // Only the warm-pool-under-demand part (a few minutes instead of the whole bench).
      "pool-demand-only": { type: "boolean", default: false },
      // Which pool configurations to compare (default: all of them).
      "pool-configs": { type: "string", default: "fixed2_serial,default,concurrency1,concurrency2,concurrency4" },
      // cove up's log at debug level (pool boots with their durations, hand-outs...) appended to this file.
      "cove-log": { type: "string" },
    },
  });
  const runs = positive("--runs", values.runs);
  const concurrent = positive("--concurrent", values.concurrent);
  const clients = positive("--clients", values.clients);
  const seconds = positive("--seconds", values.seconds);
  if (process.getuid?.() !== 0) throw new Error("the e2e bench must run as root (it starts a node)");

  const work = mkdtempSync("/var/tmp/cove-bench-e2e-");
  let cleanupDb: (() => Promise<void>) | undefined;
  let up: Up | undefined;
  const onSignal = () => void (up?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const server = values["database-url"];
    const db = server ? await makeDatabase(server) : undefined;
    cleanupDb = db?.drop;
    console.log(line({ load_avg_1m: fmt(loadavg()[0] ?? 0), runs: String(runs), database: server ? "postgres" : "pglite" }));
    const results: Record<string, { node: number[]; api: number[]; create: number[]; createExec: number[] }> = {};
    for (const pool of values["pool-demand-only"] ? [] : [0, 2]) {
      if (db && pool > 0) await db.reset();
      up = await startUp(join(work, `pool${pool}`), pool, db?.url, [], {}, values["cove-log"]);
      const u = up;
      const sdk = { apiKey: u.apiKey, apiUrl: u.url, sandboxUrl: u.url };
      await sleep(pool > 0 ? 2000 : 0); // let the pool fill
      // Warm-up: the first requests pay for connections and JIT.
      for (let i = 0; i < 3; i++) {
        const s = await Sandbox.create(sdk);
        await s.commands.run("echo hi");
        await s.kill();
      }
      const r = { node: [] as number[], api: [] as number[], create: [] as number[], createExec: [] as number[] };
      for (let i = 0; i < runs; i++) {
        await sleep(POOL_SETTLE_MS);
        let t = performance.now();
        // What the api asks of the node for an SDK create: an envd token set at hand-out.
        const res = await u.node.createSandbox({ templateId: "base", timeoutMs: 600_000, envdAccessToken: randomBytes(24).toString("hex") });
        r.node.push(performance.now() - t);
        await u.node.killSandbox({ sandboxId: res.sandbox!.sandboxId });
        await sleep(POOL_SETTLE_MS);
        // The api's own cost, without the SDK's client-side work: one plain POST.
        t = performance.now();
        const raw = await fetch(`${u.url}/v2/sandboxes`, {
          method: "POST",
          headers: { "x-api-key": u.apiKey, "content-type": "application/json" },
          body: '{"templateID":"base"}',
        });
        const made = (await raw.json()) as { sandboxID: string };
        r.api.push(performance.now() - t);
        await fetch(`${u.url}/sandboxes/${made.sandboxID}`, { method: "DELETE", headers: { "x-api-key": u.apiKey } });
        await sleep(POOL_SETTLE_MS);
        t = performance.now();
        const s = await Sandbox.create(sdk);
        r.create.push(performance.now() - t);
        const out = await s.commands.run("echo hi");
        r.createExec.push(performance.now() - t);
        if (out.stdout !== "hi\n") throw new Error(`unexpected output ${JSON.stringify(out.stdout)}`);
        await s.kill();
      }
      results[pool === 0 ? "cold" : "warm"] = r;
      console.log(
        line({
          mode: pool === 0 ? "cold" : "warm",
          pool: String(pool),
          node_create_p50_ms: fmt(median(r.node), 1),
          api_create_p50_ms: fmt(median(r.api), 1),
          sdk_create_p50_ms: fmt(median(r.create), 1),
          sdk_create_exec_p50_ms: fmt(median(r.createExec), 1),
          sdk_create_exec_p99_ms: fmt(percentile(r.createExec, 99), 1),
          overhead_ratio: fmt(median(r.create) / median(r.node) - 1),
          api_overhead_ratio: fmt(median(r.api) / median(r.node) - 1),
        }),
      );

      if (pool > 0) {
        // Concurrent: everything at once, as an agent fan-out would.
        const t0 = performance.now();
        const settled = await Promise.allSettled(
          Array.from({ length: concurrent }, async () => {
            const t = performance.now();
            const s = await Sandbox.create(sdk);
            const createMs = performance.now() - t;
            await s.commands.run("echo hi");
            return { ms: performance.now() - t, createMs, s };
          }),
        );
        const wall = performance.now() - t0;
        const ok = settled.flatMap((x) => (x.status === "fulfilled" ? [x.value] : []));
        const failed = settled.flatMap((x) => (x.status === "rejected" ? [x.reason as unknown] : []));
        if (failed.length > 0) process.stderr.write(`bench: ${failed.length} concurrent creates failed; first: ${String(failed[0])}\n`);
        await Promise.all(ok.map((x) => x.s.kill()));
        const ms = ok.map((x) => x.ms);
        const createMs = ok.map((x) => x.createMs);
        console.log(
          line({
            [`concurrent${concurrent}_create_p50_ms`]: fmt(median(createMs), 1),
            [`concurrent${concurrent}_create_p95_ms`]: fmt(percentile(createMs, 95), 1),
            [`concurrent${concurrent}_create_exec_p50_ms`]: fmt(median(ms), 1),
            [`concurrent${concurrent}_create_exec_p95_ms`]: fmt(percentile(ms, 95), 1),
            [`concurrent${concurrent}_create_exec_p99_ms`]: fmt(percentile(ms, 99), 1),
            [`concurrent${concurrent}_wall_ms`]: fmt(wall, 1),
            [`concurrent${concurrent}_failures`]: String(concurrent - ok.length),
          }),
        );

        // Throughput of a trivial command through the gateway vs straight to envd.
        const s = await Sandbox.create({ ...sdk, timeoutMs: 600_000 });
        const info = await u.node.getSandbox({ sandboxId: s.sandboxId });
        const direct = await Sandbox.connect(s.sandboxId, { ...sdk, sandboxUrl: `http://${info.sandbox!.envdAddress}` });
        const viaProxy = await rps(s, clients, seconds);
        const viaEnvd = await rps(direct, clients, seconds);
        await s.kill();
        console.log(
          line({
            [`rps_true_${clients}_clients`]: fmt(viaProxy.rps, 1),
            rps_true_direct_envd: fmt(viaEnvd.rps, 1),
            proxy_rps_ratio: fmt(viaProxy.rps / viaEnvd.rps),
            rps_p50_ms: fmt(viaProxy.p50, 1),
            rps_errors: String(viaProxy.errors + viaEnvd.errors),
            seconds: String(seconds),
          }),
        );
      }
      await u.stop();
      up = undefined;
    }
    await poolDemand(work, runs, values["pool-configs"].split(","), db, values["cove-log"], (u) => {
      up = u;
    });
    const warm = results.warm;
    console.log(line({ load_avg_1m: fmt(loadavg()[0] ?? 0) }));
    if (!warm) return;
    console.log(
      line({
        sdk_create_exec_p50_ms: fmt(median(warm.createExec), 1),
        sdk_create_exec_p99_ms: fmt(percentile(warm.createExec, 99), 1),
        node_create_p50_ms: fmt(median(warm.node), 1),
        overhead_ratio: fmt(median(warm.create) / median(warm.node) - 1),
        api_overhead_ratio: fmt(median(warm.api) / median(warm.node) - 1),
        cold_sdk_create_exec_p50_ms: fmt(median(results.cold!.createExec), 1),
        cold_node_create_p50_ms: fmt(median(results.cold!.node), 1),
        cold_overhead_ratio: fmt(median(results.cold!.create) / median(results.cold!.node) - 1),
      }),
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await up?.stop();
    await cleanupDb?.();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The warm pool under demand, one `cove up` per configuration, same run: the pool as it was
 * before it followed demand (fixed at 2, one refill at a time: the baseline), the defaults
 * (--pool-size 2, max 8, CPUs + 1 boots at once) and other refill concurrencies.
 */
async function poolDemand(
  work: string,
  runs: number,
  only: string[],
  db: { url: string; reset(): Promise<void> } | undefined,
  logFile: string | undefined,
  track: (u: Up | undefined) => void,
): Promise<void> {
  const configs: Array<[string, string[], Record<string, string>]> = [
    ["fixed2_serial", ["--pool-max", "2"], { COVE_POOL_CONCURRENCY: "1" }],
    ["default", [], {}],
    ["concurrency1", [], { COVE_POOL_CONCURRENCY: "1" }],
    ["concurrency2", [], { COVE_POOL_CONCURRENCY: "2" }],
    ["concurrency3", [], { COVE_POOL_CONCURRENCY: "3" }],
    ["concurrency4", [], { COVE_POOL_CONCURRENCY: "4" }],
  ];
  const p95: Record<string, number> = {};
  for (const [label, args, env] of configs.filter(([label]) => only.includes(label))) {
    if (db) await db.reset();
    const dataDir = join(work, `demand-${label}`);
    const u = await startUp(dataDir, 2, db?.url, args, env, logFile);
    track(u);
    try {
      const r = await measureDemand({ url: u.url, apiKey: u.apiKey, node: u.node, dataDir }, label, runs);
      p95[label] = percentile(r.seq, 95);
    } finally {
      await u.stop();
      track(undefined);
    }
  }
  console.log(
    line({ seq_p95_default_vs_fixed2_ratio: fmt((p95.default ?? Number.NaN) / (p95.fixed2_serial ?? Number.NaN)), load_avg_1m: fmt(loadavg()[0] ?? 0) }),
  );
}

async function rps(sbx: Sandbox, clients: number, seconds: number): Promise<{ rps: number; p50: number; errors: number }> {
  const until = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await sbx.commands.run("true");
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rps: lat.length / seconds, p50: median(lat), errors };
}

/** A database of the bench's own on the server; reset between the cold and warm phases (each has a fresh data dir). */
async function makeDatabase(serverUrl: string): Promise<{ url: string; reset(): Promise<void>; drop(): Promise<void> }> {
  const pg = (await import("pg")).default;
  const name = `cove_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    reset: async () => {
      await admin(`drop database if exists ${name} with (force)`);
      await admin(`create database ${name}`);
    },
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}
