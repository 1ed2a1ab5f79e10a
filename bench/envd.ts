// `npm run bench -- envd [--runs N] [--file-mb N] [--node-flags "..."] [--knobs]`
//
// Benchmarks envd started as its own process from the portable runtime
// (scripts/bundle.mjs, built into a temp folder), driven by the official SDK.
// Prints one line per figure group with its baseline and ratio; see
// docs/benchmarks.md for what each figure means and the targets.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RUNTIME_NODE_FLAGS, runtimeCommand } from "../packages/envd/scripts/runtime-command.mjs";
import { connectSdk, ensureTestUser, type SdkHandle } from "../packages/envd/test/helpers/envd.js";
import { startRemoteEnvd, type RemoteEnvd } from "../packages/envd/test/helpers/remote.js";
import { freePort, memoryOf, spawnUntilHealthy, stopChild, timeConnectCall } from "./lib/processes.js";
import { fmt, line, median, percentile } from "./lib/stats.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const MIB = 1024 * 1024;
const WARMUP = 20;
const FILE_REPS = 3;
const START_REPS = 10;
const SHARING = 4;
/** How long a "pooled" envd sits idle between its /health and its /init. */
const POOL_IDLE_MS = 300;

/** Flag sets `--knobs` compares against the runtime's own. */
const KNOBS: readonly (readonly string[])[] = [
  [],
  ["--max-semi-space-size=1"],
  ["--v8-pool-size=1"],
  ["--single-threaded"],
  ["--optimize-for-size"],
  ["--max-semi-space-size=1", "--v8-pool-size=1"],
  ["--max-semi-space-size=1", "--single-threaded", "--optimize-for-size"],
];

interface Bench {
  work: string;
  runtime: string;
  nodeFlags: readonly string[];
  /** The user commands run as; see COMMAND_USER. */
  commandUser: string;
}

/**
 * Commands run as `user`, E2B's default user: root's login profile on a
 * developer machine (pyenv, nvm, cargo) would otherwise dominate the figure.
 */
const COMMAND_USER = "user";
/** File operations run as root: the bench's temp folder is root's. */
const FILE_OPTS = { user: "root", requestTimeoutMs: 300_000 } as const;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "200" },
      "file-mb": { type: "string", default: "100" },
      "node-flags": { type: "string" },
      knobs: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const fileMb = Number(values["file-mb"]);
  const nodeFlags = values["node-flags"] !== undefined ? values["node-flags"].split(/\s+/).filter(Boolean) : RUNTIME_NODE_FLAGS;

  const work = mkdtempSync(join(tmpdir(), "cove-bench-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const runtime = join(work, "runtime");
    execFileSync(process.execPath, [join(repo, "packages/envd/scripts/bundle.mjs"), "--out", runtime], { stdio: ["ignore", "ignore", "inherit"] });
    const bench: Bench = { work, runtime, nodeFlags, commandUser: commandUser() };
    console.log(line({ machine: `"${machineLine()}"`, node_flags: `"${nodeFlags.join(" ")}"` }));
    if (values.knobs) {
      for (const flags of KNOBS) await knob({ ...bench, nodeFlags: flags });
      return;
    }
    await withEnvd(bench, async (envd, sdk) => {
      await execRoundTrip(bench, sdk, runs);
      await fileThroughput(sdk, envd.url, work, fileMb);
    });
    await idleMemory(bench);
    await startToReady(bench, START_REPS);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
  }
}

async function withEnvd<T>(bench: Bench, body: (envd: RemoteEnvd, sdk: SdkHandle) => Promise<T>): Promise<T> {
  const envd = await startRemoteEnvd(runtimeCommand(bench.runtime, envdArgs(bench, 0), bench.nodeFlags));
  let sdk: SdkHandle | undefined;
  try {
    sdk = await connectSdk(envd);
    return await body(envd, sdk);
  } finally {
    await sdk?.close();
    await envd.stop();
  }
}

/** Times `fn` `count` times after `WARMUP` untimed calls; milliseconds. */
async function timeMany(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

function envdArgs(bench: Bench, port: number): string[] {
  return ["--host", "127.0.0.1", "--port", String(port), "--log-level", "warn", "--default-user", bench.commandUser];
}

/** COMMAND_USER, created if missing; root when that is not possible (not root ourselves). */
function commandUser(): string {
  try {
    ensureTestUser();
    return COMMAND_USER;
  } catch (err) {
    console.log(line({ note: `"commands run as root: cannot create ${COMMAND_USER} (${err instanceof Error ? err.message.split("\n")[0] : String(err)})"` }));
    return "root";
  }
}

interface RunAs {
  uid: number;
  gid: number;
  env: NodeJS.ProcessEnv;
}

function spawnAndWait(file: string, args: string[], as?: RunAs): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "ignore", ...as });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
  });
}

/** Unavailable figures (a service not implemented yet) print a reason instead of failing the run. */
async function available(group: string, probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").replace(/"/g, "'");
    console.log(line({ [group]: "unavailable", reason: `"${reason}"` }));
    return false;
  }
}

async function execRoundTrip(bench: Bench, sdk: SdkHandle, runs: number): Promise<number | undefined> {
  const exec = () => sdk.sandbox.commands.run("true");
  if (!(await available("exec_roundtrip", exec))) return undefined;
  const envd = await timeMany(runs, exec);
  const spawnTrue = await timeMany(runs, () => spawnAndWait("true", []));
  // What envd runs for the SDK is `/bin/bash -l -c true` as `user`: the fairer floor.
  const as = runAs(bench.commandUser);
  const spawnBash = await timeMany(runs, () => spawnAndWait("/bin/bash", ["-l", "-c", "true"], as));
  const p50 = median(envd);
  console.log(
    line({
      exec_roundtrip_p50_ms: fmt(p50),
      exec_roundtrip_p99_ms: fmt(percentile(envd, 99)),
      baseline_spawn_p50_ms: fmt(median(spawnTrue)),
      baseline_spawn_p99_ms: fmt(percentile(spawnTrue, 99)),
      ratio: fmt(p50 / median(spawnTrue)),
      baseline_bash_l_p50_ms: fmt(median(spawnBash)),
      bash_ratio: fmt(p50 / median(spawnBash)),
    }),
  );
  return p50;
}

function runAs(user: string): RunAs {
  const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
  const home = execFileSync("getent", ["passwd", user], { encoding: "utf8" }).split(":")[5] ?? "/";
  return { uid: id("-u"), gid: id("-g"), env: { HOME: home, USER: user, LOGNAME: user, PATH: "/usr/local/bin:/usr/bin:/bin" } };
}

async function fileThroughput(sdk: SdkHandle, envdUrl: string, work: string, sizeMb: number): Promise<void> {
  const dir = join(work, "files");
  mkdirSync(dir, { recursive: true });
  const bytes = sizeMb * MIB;
  const data = randomBytes(bytes);
  const body = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const source = join(dir, "source.bin");
  writeFileSync(source, data);
  const rate = (ms: number) => sizeMb / (ms / 1000);
  const written = join(dir, "sdk-write.bin");
  const checkWritten = () => {
    if (statSync(written).size !== bytes) throw new Error("the upload left a file of the wrong size");
  };

  // The SDK's default for an ArrayBuffer is a multipart upload; octet-stream is opt-in.
  const writeMs = await timedIfAvailable("file_write", async () => {
    await sdk.sandbox.files.write(written, body, FILE_OPTS);
    checkWritten();
  });
  const writeOctetMs = await timedIfAvailable("file_write_octet", async () => {
    await sdk.sandbox.files.write(written, body, { ...FILE_OPTS, useOctetStream: true });
    checkWritten();
  });
  const readMs = await timedIfAvailable("file_read", async () => {
    const got = await sdk.sandbox.files.read(source, { ...FILE_OPTS, format: "bytes" });
    if (got.byteLength !== bytes) throw new Error(`SDK read ${got.byteLength} bytes, expected ${bytes}`);
  });
  const copy = join(dir, "cp.bin");
  const cpMs = await reps(async () => {
    rmSync(copy, { force: true });
    await spawnAndWait("cp", [source, copy]);
  });
  console.log(
    line({
      file_write_mb_s: fmt(rate(writeMs), 1),
      file_read_mb_s: fmt(rate(readMs), 1),
      cp_mb_s: fmt(rate(cpMs), 1),
      write_ratio: fmt(rate(writeMs) / rate(cpMs)),
      read_ratio: fmt(rate(readMs) / rate(cpMs)),
      file_write_octet_mb_s: fmt(rate(writeOctetMs), 1),
      size_mib: String(sizeMb),
    }),
  );

  // The same transfers from curl: what envd itself sustains, without the SDK's client costs.
  if (spawnSync("curl", ["--version"], { stdio: "ignore" }).status === 0) {
    const url = (path: string) => `${envdUrl}/files?path=${encodeURIComponent(path)}&username=root`;
    const curl = (args: string[]) => spawnAndWait("curl", ["-sSf", "-o", "/dev/null", ...args]);
    const rawWriteMs = await reps(async () => {
      await curl(["-X", "POST", "-H", "content-type: application/octet-stream", "-T", source, url(written)]);
      checkWritten();
    });
    const rawReadMs = await reps(() => curl([url(source)]));
    console.log(line({ raw_http_write_mb_s: fmt(rate(rawWriteMs), 1), raw_http_read_mb_s: fmt(rate(rawReadMs), 1), client: "curl" }));
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Median time of FILE_REPS runs of `fn`, or NaN (with a printed reason) when the first run fails. */
async function timedIfAvailable(group: string, fn: () => Promise<void>): Promise<number> {
  return (await available(group, fn)) ? reps(fn) : Number.NaN;
}

/** Median of FILE_REPS timed runs, in milliseconds. */
async function reps(fn: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < FILE_REPS; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/** A fresh envd after a few typical requests, left idle for two seconds. */
async function idleMemory(bench: Bench): Promise<{ pssMb: number; rssMb: number }> {
  const envdMemory = await withEnvd(bench, async (envd, sdk) => {
    await warmRequests(sdk, bench.work);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return memoryOf(envd.envdPid);
  });
  const port = await freePort();
  const bare = await spawnUntilHealthy(bareNodeServer(bench, port), `http://127.0.0.1:${port}/`);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const bareMemory = memoryOf(bare.child.pid!);
  await stopChild(bare.child);
  const sharing = await sharedRuntimePss(bench, SHARING);
  console.log(
    line({
      idle_pss_mb: fmt(envdMemory.pssMb, 1),
      idle_rss_mb: fmt(envdMemory.rssMb, 1),
      baseline_node_pss_mb: fmt(bareMemory.pssMb, 1),
      baseline_node_rss_mb: fmt(bareMemory.rssMb, 1),
      ratio: fmt(envdMemory.pssMb / bareMemory.pssMb),
      [`idle_pss_${SHARING}_sharing_mb`]: fmt(sharing, 1),
    }),
  );
  return envdMemory;
}

/**
 * Mean PSS of `count` envds started from one runtime folder at once, as
 * container sandboxes on one host that bind-mount the same /.cove: the node
 * binary's pages are then shared and PSS splits them between the processes.
 */
async function sharedRuntimePss(bench: Bench, count: number): Promise<number> {
  const envds: RemoteEnvd[] = [];
  try {
    for (let i = 0; i < count; i++) envds.push(await startRemoteEnvd(runtimeCommand(bench.runtime, envdArgs(bench, 0), bench.nodeFlags)));
    for (const envd of envds) {
      await timeConnectCall(`${envd.url}/filesystem.Filesystem/Stat`, { path: "/" });
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const pss = envds.map((envd) => memoryOf(envd.envdPid).pssMb);
    return pss.reduce((a, b) => a + b, 0) / pss.length;
  } finally {
    await Promise.all(envds.map((envd) => envd.stop()));
  }
}

/** Health, a small write, read and listing, one command: each only if that service answers. */
async function warmRequests(sdk: SdkHandle, work: string): Promise<void> {
  const path = join(work, "warm.txt");
  const attempts: (() => Promise<unknown>)[] = [
    () => sdk.sandbox.isRunning(),
    () => sdk.sandbox.files.write(path, "warm", FILE_OPTS),
    () => sdk.sandbox.files.read(path, FILE_OPTS),
    () => sdk.sandbox.files.list(work, FILE_OPTS),
    () => sdk.sandbox.commands.run("true"),
  ];
  for (const attempt of attempts) await attempt().catch(() => undefined);
}

/**
 * The baseline: a bare node HTTP server, run by the runtime's own loader and
 * node binary, so both sides load the same (unshared) binary the same way.
 */
function bareNodeServer(bench: Bench, port: number): string[] {
  const script = `require("http").createServer((q, s) => s.end("ok")).listen(${port}, "127.0.0.1")`;
  return runtimeCommand(bench.runtime, [], []).slice(0, -1).concat(["-e", script]);
}

async function startToReady(bench: Bench, count: number): Promise<number> {
  const envdTimes: number[] = [];
  const bareTimes: number[] = [];
  const firstRpc: number[] = [];
  const secondRpc: number[] = [];
  const initTimes: number[] = [];
  const pooledFirstRpc: number[] = [];
  // Alternate the two so drift on a shared machine hits both alike.
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const envd = await spawnUntilHealthy(runtimeCommand(bench.runtime, envdArgs(bench, port), bench.nodeFlags), `http://127.0.0.1:${port}/health`);
    envdTimes.push(envd.ms);
    // As a cold create: /init right after /health, then the user's first RPC, which pays for
    // what envd loads after /init (undici, http2, its spawner; see server.ts warmUp).
    initTimes.push(await timeConnectCall(`http://127.0.0.1:${port}/init`, {}));
    const stat = `http://127.0.0.1:${port}/filesystem.Filesystem/Stat`;
    firstRpc.push(await timeConnectCall(stat, { path: "/" }));
    secondRpc.push(await timeConnectCall(stat, { path: "/" }));
    await stopChild(envd.child);
    // As a pooled sandbox: started, then idle until it is handed out (/init) and used.
    const pooledPort = await freePort();
    const pooled = await spawnUntilHealthy(
      runtimeCommand(bench.runtime, envdArgs(bench, pooledPort), bench.nodeFlags),
      `http://127.0.0.1:${pooledPort}/health`,
    );
    await new Promise((resolve) => setTimeout(resolve, POOL_IDLE_MS));
    await timeConnectCall(`http://127.0.0.1:${pooledPort}/init`, {});
    pooledFirstRpc.push(await timeConnectCall(`http://127.0.0.1:${pooledPort}/filesystem.Filesystem/Stat`, { path: "/" }));
    await stopChild(pooled.child);
    const barePort = await freePort();
    const bare = await spawnUntilHealthy(bareNodeServer(bench, barePort), `http://127.0.0.1:${barePort}/`);
    bareTimes.push(bare.ms);
    await stopChild(bare.child);
  }
  const ms = median(envdTimes);
  console.log(line({ start_to_ready_ms: fmt(ms, 1), baseline_node_ready_ms: fmt(median(bareTimes), 1), ratio: fmt(ms / median(bareTimes)) }));
  console.log(
    line({
      init_ms: fmt(median(initTimes), 1),
      first_rpc_ms: fmt(median(firstRpc), 1),
      second_rpc_ms: fmt(median(secondRpc), 1),
      pooled_first_rpc_ms: fmt(median(pooledFirstRpc), 1),
    }),
  );
  return ms;
}

/** One flag set: start-to-ready (median of 5), idle memory, exec p50 over 50 runs. */
async function knob(bench: Bench): Promise<void> {
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const port = await freePort();
    const envd = await spawnUntilHealthy(runtimeCommand(bench.runtime, envdArgs(bench, port), bench.nodeFlags), `http://127.0.0.1:${port}/health`);
    starts.push(envd.ms);
    await stopChild(envd.child);
  }
  const figures = await withEnvd(bench, async (envd, sdk) => {
    await warmRequests(sdk, bench.work);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const memory = memoryOf(envd.envdPid);
    let execP50 = Number.NaN;
    try {
      execP50 = median(await timeMany(50, () => sdk.sandbox.commands.run("true")));
    } catch {
      // Process service not available: leave n/a.
    }
    return { memory, execP50 };
  });
  console.log(
    line({
      knob: `"${bench.nodeFlags.join(" ") || "(none)"}"`,
      start_to_ready_ms: fmt(median(starts), 1),
      idle_pss_mb: fmt(figures.memory.pssMb, 1),
      idle_rss_mb: fmt(figures.memory.rssMb, 1),
      exec_p50_ms: fmt(figures.execP50),
    }),
  );
}

function machineLine(): string {
  const cpus = execFileSync("nproc", { encoding: "utf8" }).trim();
  let os = "linux";
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {
    // Keep "linux".
  }
  return `${cpus} cpus, ${os}, node ${process.version}`;
}
