import { readFile, statfs } from "node:fs/promises";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvdMetricsBody } from "@cove/protocol/envd";
import { readCgroupStats, type CgroupStats } from "./cgroup-stats.js";
import { sendJson, type HttpHandler } from "./respond.js";

interface CpuSample {
  busy: number;
  total: number;
}

/** Used when there is no earlier sample to compare with. */
const FIRST_SAMPLE_MS = 100;

/**
 * Inside a sandbox the figures are the sandbox's own, from its cgroup: memory against its
 * limit, CPUs its quota allows, CPU time it used. Where the cgroup sets no limit (envd on a
 * host), they are the machine's, from /proc. CPU usage is the busy share between this call
 * and the previous one (a short sample on the first call); the previous sample lives in this
 * route instance, one per server.
 */
export function createMetricsRoute(procDir = "/proc", cgroupDir = "/sys/fs/cgroup"): HttpHandler {
  let previous: CpuSample | undefined;
  const hostCpus = cpus().length;
  const sampleCpu = async (cg: CgroupStats): Promise<{ sample: CpuSample; count: number }> => {
    if (cg.cpuQuota !== undefined && cg.cpuUsageNs !== undefined) {
      // Busy = CPU time used; total = wall time × the CPUs the quota allows.
      const allowed = Math.min(hostCpus, cg.cpuQuota);
      return { sample: { busy: cg.cpuUsageNs, total: performance.now() * 1e6 * allowed }, count: Math.max(1, Math.ceil(allowed)) };
    }
    return { sample: await readCpu(procDir), count: hostCpus };
  };
  return async (_req, res, ctx) => {
    if (!previous) {
      previous = (await sampleCpu(await readCgroupStats(cgroupDir))).sample;
      await sleep(FIRST_SAMPLE_MS);
    }
    // One read of the cgroup serves both the CPU and the memory figures.
    const cg = await readCgroupStats(cgroupDir);
    const [cpu, mem, disk] = await Promise.all([sampleCpu(cg), readSandboxMem(procDir, cg), statfs(ctx.config.root)]);
    const total = cpu.sample.total - previous.total;
    const busy = cpu.sample.busy - previous.busy;
    previous = cpu.sample;
    const pct = total > 0 ? Math.min(100, Math.max(0, (busy / total) * 100)) : 0;
    const body: EnvdMetricsBody = {
      ts: Math.floor(Date.now() / 1000),
      cpu_count: cpu.count,
      cpu_used_pct: Math.round(pct * 100) / 100,
      mem_total: mem.total,
      mem_used: mem.used,
      mem_cache: mem.cache,
      mem_total_mib: Math.floor(mem.total / 1024 / 1024),
      mem_used_mib: Math.floor(mem.used / 1024 / 1024),
      disk_used: (disk.blocks - disk.bfree) * disk.bsize,
      disk_total: disk.blocks * disk.bsize,
    };
    sendJson(res, 200, body);
  };
}

/** Aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal (guest is inside user). */
async function readCpu(procDir: string): Promise<CpuSample> {
  const text = await readFile(`${procDir}/stat`, "utf8");
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  const values = (line ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  const idleAll = idle + iowait;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idleAll, total };
}

/** The cgroup's memory when it has a limit below the machine's, else the machine's. */
async function readSandboxMem(procDir: string, cg: CgroupStats): Promise<{ total: number; used: number; cache: number }> {
  const host = await readMem(procDir);
  if (cg.memLimit === undefined || cg.memUsage === undefined || cg.memLimit >= host.total) return host;
  return { total: cg.memLimit, used: Math.max(0, cg.memUsage - (cg.memInactiveFile ?? 0)), cache: cg.memCache ?? 0 };
}

/** Bytes from /proc/meminfo; used = total - available, as free(1) reports it. */
async function readMem(procDir: string): Promise<{ total: number; used: number; cache: number }> {
  const text = await readFile(`${procDir}/meminfo`, "utf8");
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  const total = kib("MemTotal");
  const available = kib("MemAvailable") || kib("MemFree") + kib("Buffers") + kib("Cached");
  return { total, used: Math.max(0, total - available), cache: kib("Cached") };
}
