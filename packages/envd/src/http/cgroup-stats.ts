import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** What a sandbox's own cgroup says about it (v1 or v2 layout under `dir`); fields it lacks are undefined. */
export interface CgroupStats {
  /** The memory limit in bytes; undefined when unlimited. */
  memLimit?: number;
  memUsage?: number;
  /** Page cache charged to the cgroup. */
  memCache?: number;
  /** The part of the cache the kernel drops first: not counted as used, as `free` does not count it. */
  memInactiveFile?: number;
  /** CPUs the quota allows (quota / period, may be fractional); undefined when unlimited. */
  cpuQuota?: number;
  /** CPU time used by the cgroup so far, in nanoseconds. */
  cpuUsageNs?: number;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return undefined;
  }
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text === "" || text === "max") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function statField(text: string | undefined, key: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

// v1 reports "no limit" as a huge page-rounded number.
const UNLIMITED_V1 = 2 ** 60;

/**
 * Reads the cgroup that /proc/self/cgroup puts us in, as mounted inside a sandbox (the node
 * mounts the sandbox's own cgroup at /sys/fs/cgroup, so paths are relative to it).
 */
export async function readCgroupStats(dir = "/sys/fs/cgroup"): Promise<CgroupStats> {
  const v2 = await read(join(dir, "cgroup.controllers"));
  if (v2 !== undefined) {
    const stat = await read(join(dir, "memory.stat"));
    const [quota, period] = (await read(join(dir, "cpu.max")))?.split(/\s+/) ?? [];
    const q = num(quota);
    const p = num(period);
    const usageUsec = statField(await read(join(dir, "cpu.stat")), "usage_usec");
    return {
      memLimit: num(await read(join(dir, "memory.max"))),
      memUsage: num(await read(join(dir, "memory.current"))),
      memCache: statField(stat, "file"),
      memInactiveFile: statField(stat, "inactive_file"),
      cpuQuota: q !== undefined && p ? q / p : undefined,
      cpuUsageNs: usageUsec === undefined ? undefined : usageUsec * 1000,
    };
  }
  const limit = num(await read(join(dir, "memory/memory.limit_in_bytes")));
  const stat = await read(join(dir, "memory/memory.stat"));
  const quota = num(await read(join(dir, "cpu/cpu.cfs_quota_us")));
  const period = num(await read(join(dir, "cpu/cpu.cfs_period_us")));
  return {
    memLimit: limit !== undefined && limit < UNLIMITED_V1 ? limit : undefined,
    memUsage: num(await read(join(dir, "memory/memory.usage_in_bytes"))),
    memCache: statField(stat, "total_cache") ?? statField(stat, "cache"),
    memInactiveFile: statField(stat, "total_inactive_file") ?? statField(stat, "inactive_file"),
    cpuQuota: quota !== undefined && quota > 0 && period ? quota / period : undefined,
    cpuUsageNs: num(await read(join(dir, "cpuacct/cpuacct.usage"))),
  };
}
