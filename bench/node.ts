// `npm run bench -- node [--runs N] [--concurrent N] [--density N] [--skip-density] [--skip-podman]`
//
// Benchmarks the node's sandbox manager in this process (real crun sandboxes:
// ext4 disk + overlay, netns + veth + nftables, envd inside, from a private
// build of the envd runtime), against a bare `crun run` of /bin/true and
// `podman run --rm ... true`: first back to back, then one run after each
// cold create and kill (the ratios use those). Prints one line per figure
// group, then the summary lines; see docs/benchmarks.md for what each figure
// means and the targets. Run as root.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runtimeCommand } from "../packages/envd/scripts/runtime-command.mjs";
import { loadNodeConfig } from "../packages/node/src/config.js";
import { startNode, type RunningNode } from "../packages/node/src/node.js";
import type { Logger } from "../packages/node/src/sandbox/logger.js";
import { buildBaseTemplate } from "../packages/node/src/templates/base-template.js";
import { memAvailableMb, pidsUnderCgroup, sumMemory } from "./lib/cgroup-memory.js";
import { busyMs, busyPercent, cpuSnapshot } from "./lib/host-cpu.js";
import { crunTrue, podmanTrue } from "./lib/oci-baselines.js";
import { measureParts } from "./lib/node-parts.js";
import { freePort, spawnUntilHealthy, stopChild } from "./lib/processes.js";
import { markRuntime, type MarkedRuntime } from "./lib/runtime-marks.js";
import { fmt, line, median, percentile, positive } from "./lib/stats.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the test suites build and reuse the base template; the bench shares it. */
const TEMPLATE_DATA_DIR = "/var/tmp/cove-test";
/** Network prefix and pool of the bench's nodes: a /30 per sandbox, so a /22 holds 256. */
const PREFIX = "cb";
const CIDR = "10.212.0.0/22";
const WARM_POOL = 2;
const BASELINE_WARMUP = 3;
const CREATE_WARMUP = 2;
const DENSITY_BATCH = 5;
const IDLE_SETTLE_MS = 3_000;
const PARTS_RUNS = 10;
const CREATE = { templateId: "base", timeoutMs: 3_600_000 } as const;

interface Options {
  runs: number;
  concurrent: number;
  density: number;
  skipDensity: boolean;
  skipPodman: boolean;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "50" },
      concurrent: { type: "string", default: "20" },
      density: { type: "string", default: "100" },
      "skip-density": { type: "boolean", default: false },
      "skip-podman": { type: "boolean", default: false },
    },
  });
  const opts: Options = {
    runs: positive("--runs", values.runs),
    concurrent: positive("--concurrent", values.concurrent),
    density: positive("--density", values.density),
    skipDensity: values["skip-density"],
    skipPodman: values["skip-podman"],
  };
  if (process.getuid?.() !== 0) throw new Error("the node bench must run as root (namespaces, mounts, cgroups, nftables)");

  const work = mkdtempSync("/var/tmp/cove-bench-node-");
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => process.stderr.write(`bench: cleanup: ${String(err)}\n`));
      removeUnlessMounted(work);
    })());
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // A private envd runtime: the shared build folder may be rebuilt by `npm run build` mid-run.
    const envdRuntime = join(work, "envd-runtime");
    execFileSync(process.execPath, [join(repo, "packages/envd/scripts/bundle.mjs"), "--out", envdRuntime], { stdio: ["ignore", "ignore", "inherit"] });
    const template = await buildBaseTemplate({ dataDir: TEMPLATE_DATA_DIR });
    const rootfs = join(template.dir, template.manifest.rootfs);
    console.log(line({ machine: `"${machineLine()}"`, load_avg_1m: loadAvg(), template: template.manifest.name, runs: String(opts.runs) }));

    const baselines = [await openBaseline("crun_true", opts.runs, cleanups, () => crunTrue(rootfs, work))];
    if (!opts.skipPodman) baselines.push(await openBaseline("podman", opts.runs, cleanups, () => podmanTrue(rootfs)));

    const cold = await withNode(work, envdRuntime, "cold", 0, {}, cleanups, async (node, marks) => {
      console.log(line({ node_runtime: `"${node.runtime}"`, cgroups: node.cgroupMode, hybrid_workaround: String(node.hybridWorkaround), pool: "0" }));
      const seq = await sequentialCreates(node, opts.runs, marks, baselines);
      const conc = seq.samples.length > 0 ? await concurrentCreates(node, opts.concurrent) : undefined;
      const dens = seq.samples.length > 0 && !opts.skipDensity ? await density(node, opts.density) : undefined;
      return { seq, conc, dens };
    });
    // The same cold creates without per-sandbox user namespaces: what they cost, in the same run.
    const sharedUids = await withNode(work, envdRuntime, "cold-shared-uids", 0, { COVE_SANDBOX_USERNS: "off" }, cleanups, (node, marks) =>
      sequentialCreates(node, opts.runs, marks, []),
    );
    const crun = samplesOf(baselines, "crun_true");
    const podman = opts.skipPodman ? undefined : samplesOf(baselines, "podman");

    const parts = await measureParts({ work, lowerDir: rootfs, runs: PARTS_RUNS, prefix: `${PREFIX}p`, cidr: "10.212.4.0/24" });
    const envdHost = await envdHostReady(envdRuntime, PARTS_RUNS);
    console.log(
      line({
        storage_prepare_p50_ms: fmt(median(parts.storagePrepare), 1),
        storage_prepare_spare_p50_ms: fmt(median(parts.storagePrepareSpare), 1),
        storage_release_p50_ms: fmt(median(parts.storageRelease), 1),
        network_setup_p50_ms: fmt(median(parts.networkSetup), 1),
        network_teardown_p50_ms: fmt(median(parts.networkTeardown), 1),
        envd_host_ready_p50_ms: fmt(median(envdHost), 1),
        runs: String(PARTS_RUNS),
      }),
    );

    const warm = await withNode(work, envdRuntime, "warm", WARM_POOL, {}, cleanups, (node) => warmCreates(node, opts.runs));

    // Summary. The load average tells whether something else shared the 2 cores.
    console.log(line({ load_avg_1m: loadAvg() }));
    const p50 = median(cold.seq.samples);
    console.log(
      line({
        create_p50_ms: fmt(p50, 1),
        create_p99_ms: fmt(percentile(cold.seq.samples, 99), 1),
        crun_true_p50_ms: fmt(median(crun), 1),
        podman_p50_ms: podman ? fmt(median(podman), 1) : "skipped",
        ratio_vs_crun: fmt(p50 / median(crun)),
        ratio_vs_podman: podman ? fmt(p50 / median(podman)) : "n/a",
        create_failures: String(cold.seq.failures),
      }),
    );
    const sharedP50 = median(sharedUids.samples);
    console.log(
      line({
        create_shared_uids_p50_ms: fmt(sharedP50, 1),
        userns_cost_p50_ms: fmt(p50 - sharedP50, 1),
        ratio_userns_vs_shared_uids: fmt(p50 / sharedP50),
        shared_uids_failures: String(sharedUids.failures),
      }),
    );
    const warmP50 = median(warm.samples);
    console.log(
      line({
        warm_create_p50_ms: fmt(warmP50, 1),
        warm_create_p99_ms: fmt(percentile(warm.samples, 99), 1),
        warm_ratio_vs_crun: fmt(warmP50 / median(crun)),
        warm_failures: String(warm.failures),
        pool: String(WARM_POOL),
      }),
    );
    if (cold.conc) {
      const c = cold.conc;
      const k = `concurrent${opts.concurrent}`;
      console.log(
        line({
          [`${k}_min_ms`]: fmt(Math.min(...c.samples), 1),
          [`${k}_p50_ms`]: fmt(median(c.samples), 1),
          [`${k}_p99_ms`]: fmt(percentile(c.samples, 99), 1),
          [`${k}_failures`]: String(c.failures),
          [`${k}_wall_ms`]: fmt(c.wallMs, 1),
          host_cpu_busy_pct: fmt(c.cpuBusyPct, 0),
          cpu_ms_per_create: fmt(c.cpuMsPerCreate, 1),
        }),
      );
    }
    if (cold.dens) {
      const d = cold.dens;
      console.log(
        line({
          idle_pss_mb: fmt(d.pssMb / d.count, 1),
          idle_rss_mb: fmt(d.rssMb / d.count, 1),
          mem_available_drop_mb: fmt(d.availableDropMb / d.count, 1),
          sandboxes: String(d.count),
        }),
      );
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

interface Baseline {
  key: string;
  description: string;
  runOnce?: () => Promise<number>;
  /** Back to back, before any sandbox: the hot-loop figure (what hyperfine reports). */
  loop: number[];
  /** One after each cold create and kill: the same conditions as the creates. */
  samples: number[];
  /** Why it stopped, if it failed. */
  failure?: string;
}

/**
 * Opens a baseline, makes BASELINE_WARMUP untimed runs, then `runs` back to
 * back; a failure leaves it without runOnce and with a reason.
 */
async function openBaseline(
  key: string,
  runs: number,
  cleanups: (() => Promise<void>)[],
  open: () => Promise<{ description: string; runOnce(): Promise<number>; close(): Promise<void> }>,
): Promise<Baseline> {
  const loop: number[] = [];
  try {
    const b = await open();
    cleanups.push(() => b.close());
    for (let i = 0; i < BASELINE_WARMUP; i++) await b.runOnce();
    for (let i = 0; i < runs; i++) loop.push(await b.runOnce());
    return { key, description: b.description, runOnce: () => b.runOnce(), loop, samples: [] };
  } catch (err) {
    return { key, description: "", loop, samples: [], failure: reason(err) };
  }
}

/** One timed run of each baseline still working. */
async function runBaselines(baselines: Baseline[]): Promise<void> {
  for (const b of baselines) {
    if (!b.runOnce) continue;
    try {
      b.samples.push(await b.runOnce());
    } catch (err) {
      b.failure = reason(err);
      delete b.runOnce;
    }
  }
}

function printBaseline(b: Baseline): void {
  if (b.failure !== undefined || b.samples.length === 0) {
    console.log(line({ [`${b.key}_p50_ms`]: "unavailable", reason: `"${b.failure ?? "no runs"}"` }));
    return;
  }
  console.log(
    line({
      [`${b.key}_p50_ms`]: fmt(median(b.samples), 1),
      [`${b.key}_p99_ms`]: fmt(percentile(b.samples, 99), 1),
      [`${b.key}_loop_p50_ms`]: fmt(median(b.loop), 1),
      [`${b.key}_loop_p99_ms`]: fmt(percentile(b.loop, 99), 1),
      what: `"${b.description}"`,
    }),
  );
}

/** A baseline's samples; none when it failed (its figures then print n/a). */
function samplesOf(baselines: Baseline[], key: string): number[] {
  const b = baselines.find((x) => x.key === key);
  return b && b.failure === undefined ? b.samples : [];
}

/** Starts a node (own data dir, PREFIX/CIDR, `poolSize`), runs `body`, closes it with killAll even on failure. */
async function withNode<T>(
  work: string,
  envdRuntime: string,
  name: string,
  poolSize: number,
  env: Record<string, string>,
  cleanups: (() => Promise<void>)[],
  body: (node: RunningNode, marks: MarkedRuntime) => Promise<T>,
): Promise<T> {
  const dataDir = join(work, `node-${name}`);
  const config = loadNodeConfig(
    { dataDir, listen: "127.0.0.1:0", poolSize, logLevel: "silent" },
    {
      COVE_TEMPLATES_DIR: join(TEMPLATE_DATA_DIR, "templates"),
      COVE_NETWORK_PREFIX: PREFIX,
      COVE_SANDBOX_CIDR: CIDR,
      // No traffic leaves the machine; the resolver address is never used.
      COVE_SANDBOX_DNS: "127.0.0.1",
      COVE_NODE_SECRET: "bench-secret",
      ...env,
    },
    { envdRuntimeDir: envdRuntime },
  );
  const started = performance.now();
  const logger = stderrLogger(name);
  const node = await startNode(config, logger);
  console.log(line({ node: name, node_start_ms: fmt(performance.now() - started, 1) }));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await node.close({ killAll: true });
    logger.summarize();
    removeUnlessMounted(dataDir);
    removeEmptyStateDir(dataDir);
  };
  cleanups.push(close);
  try {
    return await body(node, markRuntime(node.sandboxRuntime));
  } finally {
    await close();
  }
}

interface Samples {
  samples: number[];
  failures: number;
}

/**
 * Create, then kill, then one run of each baseline, then the next: `runs`
 * cold creates with phases from the runtime marks. Alternating with the
 * baselines makes drift on a shared machine hit both alike.
 */
async function sequentialCreates(node: RunningNode, runs: number, marks: MarkedRuntime, baselines: Baseline[]): Promise<Samples> {
  const samples: number[] = [];
  const kills: number[] = [];
  const phases = { prep: [] as number[], ociCreate: [] as number[], ociStart: [] as number[], envd: [] as number[] };
  let failures = 0;
  let firstError: unknown;
  for (let i = 0; i < CREATE_WARMUP + runs; i++) {
    const t0 = performance.now();
    let id: string;
    try {
      id = (await node.manager.create(CREATE)).sandboxId;
    } catch (err) {
      firstError ??= err;
      if (i >= CREATE_WARMUP) {
        failures++;
        await runBaselines(baselines);
      }
      continue;
    }
    const t1 = performance.now();
    await node.manager.kill(id);
    if (i < CREATE_WARMUP) continue;
    kills.push(performance.now() - t1);
    await runBaselines(baselines);
    samples.push(t1 - t0);
    const m = marks.marks(id);
    if (m?.createEnd !== undefined && m.startStart !== undefined && m.startEnd !== undefined) {
      phases.prep.push(m.createStart - t0);
      phases.ociCreate.push(m.createEnd - m.createStart);
      phases.ociStart.push(m.startEnd - m.startStart);
      phases.envd.push(t1 - m.startEnd);
    }
  }
  for (const b of baselines) printBaseline(b);
  if (samples.length === 0) {
    console.log(line({ create_p50_ms: "unavailable", reason: `"${reason(firstError)}"` }));
    return { samples, failures };
  }
  if (firstError) process.stderr.write(`bench: a create failed: ${reason(firstError)}\n`);
  console.log(
    line({
      phase_prep_p50_ms: fmt(median(phases.prep), 1),
      phase_oci_create_p50_ms: fmt(median(phases.ociCreate), 1),
      phase_oci_start_p50_ms: fmt(median(phases.ociStart), 1),
      phase_envd_ready_init_p50_ms: fmt(median(phases.envd), 1),
      kill_p50_ms: fmt(median(kills), 1),
      kill_p99_ms: fmt(percentile(kills, 99), 1),
    }),
  );
  return { samples, failures };
}

/** `count` creates started at once (pool off); then all of them killed. */
async function concurrentCreates(node: RunningNode, count: number): Promise<Samples & { wallMs: number; cpuBusyPct: number; cpuMsPerCreate: number }> {
  const cpu0 = cpuSnapshot();
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const t0 = performance.now();
      const info = await node.manager.create(CREATE);
      return { id: info.sandboxId, ms: performance.now() - t0 };
    }),
  );
  const wallMs = performance.now() - started;
  const cpu1 = cpuSnapshot();
  const cpuBusyPct = busyPercent(cpu0, cpu1);
  const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (rejected.length > 0) process.stderr.write(`bench: ${rejected.length} concurrent creates failed; first: ${reason(rejected[0])}\n`);
  await Promise.all(ok.map((r) => node.manager.kill(r.id)));
  return { samples: ok.map((r) => r.ms), failures: rejected.length, wallMs, cpuBusyPct, cpuMsPerCreate: busyMs(cpu0, cpu1) / Math.max(1, ok.length) };
}

interface Density {
  count: number;
  pssMb: number;
  rssMb: number;
  availableDropMb: number;
}

/**
 * `count` sandboxes created DENSITY_BATCH at a time, left idle, then the PSS
 * and RSS of every process in the node's sandbox cgroups summed; also the
 * drop in the host's MemAvailable (kernel memory, page cache of the disks).
 */
async function density(node: RunningNode, count: number): Promise<Density | undefined> {
  const ids: string[] = [];
  let failures = 0;
  let firstError: unknown;
  const availableBefore = memAvailableMb();
  const cpu0 = cpuSnapshot();
  const started = performance.now();
  try {
    while (ids.length + failures < count) {
      const batch = Math.min(DENSITY_BATCH, count - ids.length - failures);
      const results = await Promise.allSettled(Array.from({ length: batch }, () => node.manager.create(CREATE)));
      for (const r of results) {
        if (r.status === "fulfilled") ids.push(r.value.sandboxId);
        else {
          failures++;
          firstError ??= r.reason;
        }
      }
    }
    const createMs = performance.now() - started;
    const cpuBusyPct = busyPercent(cpu0, cpuSnapshot());
    await sleep(IDLE_SETTLE_MS);
    const pids = pidsUnderCgroup(node.cgroupParent);
    const mem = sumMemory(pids);
    const availableDropMb = availableBefore - memAvailableMb();
    if (firstError) process.stderr.write(`bench: ${failures} density creates failed; first: ${reason(firstError)}\n`);
    const k0 = performance.now();
    await killAll(node, ids.splice(0));
    console.log(
      line({
        density_sandboxes: String(count - failures),
        density_failures: String(failures),
        density_create_wall_ms: fmt(createMs, 0),
        host_cpu_busy_pct: fmt(cpuBusyPct, 0),
        density_kill_wall_ms: fmt(performance.now() - k0, 0),
        processes: String(mem.processes),
        pss_total_mb: fmt(mem.pssMb, 0),
        rss_total_mb: fmt(mem.rssMb, 0),
        mem_available_drop_total_mb: fmt(availableDropMb, 0),
      }),
    );
    const alive = count - failures;
    return alive > 0 ? { count: alive, pssMb: mem.pssMb, rssMb: mem.rssMb, availableDropMb } : undefined;
  } finally {
    await killAll(node, ids); // when something above threw; node.close would catch the rest
  }
}

async function killAll(node: RunningNode, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += DENSITY_BATCH) {
    await Promise.all(ids.slice(i, i + DENSITY_BATCH).map((id) => node.manager.kill(id)));
  }
}

/** envd from the same runtime started on the host, spawn to first 2xx GET /health (no container, no network). */
async function envdHostReady(envdRuntime: string, runs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const ready = await spawnUntilHealthy(
      runtimeCommand(envdRuntime, ["--host", "127.0.0.1", "--port", String(port), "--log-level", "warn"]),
      `http://127.0.0.1:${port}/health`,
    );
    samples.push(ready.ms);
    await stopChild(ready.child);
  }
  return samples;
}

/**
 * Creates served by the warm pool: before each, the pool is back to its full
 * size (the previous create's refill has finished), so every create claims a
 * pre-started sandbox; also how long each refill took.
 */
async function warmCreates(node: RunningNode, runs: number): Promise<Samples> {
  const samples: number[] = [];
  const refills: number[] = [];
  let failures = 0;
  let firstError: unknown;
  await waitForPool(node);
  for (let i = 0; i < CREATE_WARMUP + runs; i++) {
    const t0 = performance.now();
    let id: string | undefined;
    try {
      id = (await node.manager.create(CREATE)).sandboxId;
      if (i >= CREATE_WARMUP) samples.push(performance.now() - t0);
    } catch (err) {
      if (i >= CREATE_WARMUP) failures++;
      firstError ??= err;
    }
    if (id) await node.manager.kill(id);
    await waitForPool(node);
    if (i >= CREATE_WARMUP) refills.push(performance.now() - t0);
  }
  if (firstError) process.stderr.write(`bench: a warm create failed: ${reason(firstError)}\n`);
  console.log(line({ warm_cycle_p50_ms: fmt(median(refills), 1), what: `"claim + kill + wait until the pool holds ${WARM_POOL} again"` }));
  return { samples, failures };
}

async function waitForPool(node: RunningNode, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (node.manager.poolSize() < WARM_POOL) {
    if (performance.now() > deadline) throw new Error(`the pool did not refill to ${WARM_POOL} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

interface BenchLogger extends Logger {
  /** Prints how often each message repeated after its first line. */
  summarize(): void;
}

/** The node's warnings and errors go to stderr (the figure lines stay clean), each message once, then a count. */
function stderrLogger(name: string): BenchLogger {
  const seen = new Map<string, number>();
  const write = (level: string) => (obj: object, msg?: string) => {
    const key = `${level}: ${msg ?? ""}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 1) process.stderr.write(`node[${name}] ${key} ${JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v))}\n`);
  };
  return {
    debug() {},
    info() {},
    warn: write("warn"),
    error: write("error"),
    summarize() {
      for (const [key, n] of seen) if (n > 1) process.stderr.write(`node[${name}] ${key} (${n} times in all)\n`);
    },
  };
}

/** Removes `dir` unless something is still mounted under it (a leak to report, not to delete through). */
function removeUnlessMounted(dir: string): void {
  const mounted = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  if (mounted.length > 0) {
    process.stderr.write(`bench: leaving ${dir}: still mounted: ${mounted.join(", ")}\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The node keeps its OCI state under /run/cove/<sha256(dataDir)[0:8]>/<runtime>;
 * close removes the runtime dir but leaves the (then empty) tag dir. Said and removed.
 */
function removeEmptyStateDir(dataDir: string): void {
  const dir = `/run/cove/${createHash("sha256").update(dataDir).digest("hex").slice(0, 8)}`;
  if (!existsSync(dir)) return;
  try {
    rmdirSync(dir);
    process.stderr.write(`bench: the node left an empty ${dir}; removed it\n`);
  } catch (err) {
    process.stderr.write(`bench: the node left ${dir}: ${reason(err)}\n`);
  }
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").replace(/"/g, "'").slice(0, 300);
}

function loadAvg(): string {
  return fmt(loadavg()[0] ?? Number.NaN);
}

function machineLine(): string {
  const cpus = execFileSync("nproc", { encoding: "utf8" }).trim();
  const memGb = Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024);
  let os = "linux";
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {
    // Keep "linux".
  }
  const kernel = execFileSync("uname", ["-r"], { encoding: "utf8" }).trim();
  return `${cpus} cpus, ${memGb} GB, ${os}, kernel ${kernel}, node ${process.version}`;
}
