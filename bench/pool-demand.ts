// The warm pool under demand, as `npm run bench -- e2e` measures it (see docs/benchmarks.md):
// 50 sequential SDK Sandbox.create() + first command, then 50 more from 2 concurrent callers,
// for one `cove up` configuration; and what the pool's idle sandboxes cost (PSS).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Sandbox } from "e2b";
import type { NodeClient } from "../packages/protocol/src/nodeapi-client.js";
import { pidsInCgroupsNamed, sumMemory } from "./lib/cgroup-memory.js";
import { fmt, line, median, percentile } from "./lib/stats.js";

export interface DemandTarget {
  url: string;
  apiKey: string;
  node: NodeClient;
  dataDir: string;
}

export interface DemandResult {
  seq: number[];
  two: number[];
  idlePssMb: number;
}

async function basePool(node: NodeClient) {
  const r = await node.getWarmPool({});
  const p = r.pools.find((x) => x.templateId === "base");
  return { target: p?.target ?? 0, waiting: p?.waiting ?? 0, booting: p?.booting ?? 0, misses: Number(p?.misses ?? 0n), handedOut: Number(p?.handedOut ?? 0n) };
}

/** Waits until the base pool holds its whole target and boots nothing (a settled pool). */
async function settled(node: NodeClient, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const p = await basePool(node);
    if (p.waiting === p.target && p.booting === 0) return p;
    if (performance.now() > deadline) throw new Error(`pool did not settle: ${JSON.stringify(p)}`);
    await sleep(100);
  }
}

/** PSS of the processes of the sandboxes waiting in the pool (their records say pooled). */
function pooledPss(dataDir: string): { mb: number; sandboxes: number } {
  const dir = join(dataDir, "sandboxes");
  const ids = new Set<string>();
  for (const id of readdirSync(dir)) {
    try {
      const rec = JSON.parse(readFileSync(join(dir, id, "sandbox.json"), "utf8")) as { pooled?: boolean; state?: string };
      if (rec.pooled && rec.state === "running") ids.add(id);
    } catch {
      // gone meanwhile
    }
  }
  return { mb: sumMemory(pidsInCgroupsNamed(ids)).pssMb, sandboxes: ids.size };
}

/** One create + first command, timed; the kill after it is not. */
async function once(t: DemandTarget): Promise<number> {
  const started = performance.now();
  const s = await Sandbox.create({ apiKey: t.apiKey, apiUrl: t.url, sandboxUrl: t.url });
  const out = await s.commands.run("echo hi");
  const ms = performance.now() - started;
  if (out.stdout !== "hi\n") throw new Error(`unexpected output ${JSON.stringify(out.stdout)}`);
  await s.kill();
  return ms;
}

export async function measureDemand(t: DemandTarget, label: string, runs: number): Promise<DemandResult> {
  const start = await settled(t.node);
  // Warm-up (connections, JIT), one at a time with the pool refilled in between, so it does not grow the pool.
  for (let i = 0; i < 3; i++) {
    await once(t);
    await settled(t.node);
  }
  const before = await basePool(t.node);
  const seq: number[] = [];
  const seqStarted = performance.now();
  for (let i = 0; i < runs; i++) seq.push(await once(t));
  const seqRate = (runs * 1000) / (performance.now() - seqStarted);
  const afterSeq = await basePool(t.node);
  const full = await settled(t.node);
  await sleep(1000); // envd idle after its warm-up RPC
  const idle = pooledPss(t.dataDir);
  const beforeTwo = await basePool(t.node);
  const two: number[] = [];
  const twoStarted = performance.now();
  await Promise.all(
    [0, 1].map(async () => {
      for (let i = 0; i < runs / 2; i++) two.push(await once(t));
    }),
  );
  const twoRate = (two.length * 1000) / (performance.now() - twoStarted);
  const afterTwo = await basePool(t.node);
  console.log(
    line({
      pool: label,
      start_target: String(start.target),
      seq_create_exec_p50_ms: fmt(median(seq), 1),
      seq_create_exec_p95_ms: fmt(percentile(seq, 95), 1),
      seq_misses: String(afterSeq.misses - before.misses),
      seq_end_target: String(afterSeq.target),
      seq_creates_per_s: fmt(seqRate, 2),
      two_callers_create_exec_p50_ms: fmt(median(two), 1),
      two_callers_create_exec_p95_ms: fmt(percentile(two, 95), 1),
      two_callers_misses: String(afterTwo.misses - beforeTwo.misses),
      two_callers_creates_per_s: fmt(twoRate, 2),
      pool_idle_pss_mb: fmt(idle.mb, 1),
      pool_idle_sandboxes: String(idle.sandboxes),
      idle_target: String(full.target),
    }),
  );
  return { seq, two, idlePssMb: idle.mb };
}
