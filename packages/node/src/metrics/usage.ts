import { readFile, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupMode } from "../runtime/container/host-detect.js";

/** One reading of a sandbox's counters, as the host sees them. */
export interface SandboxUsage {
  /** CPU time the sandbox's cgroup used so far, in nanoseconds. */
  cpuUsageNs: number;
  memUsageBytes: number;
  /** Page cache charged to the cgroup. */
  memCacheBytes: number;
  /** The part of the cache the kernel drops first: not counted as used, as `free` does not. */
  memInactiveFileBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
}

/** Reads one sandbox's counters; undefined when it has no cgroup (gone, or not started yet). */
export type UsageReader = (sandboxId: string) => Promise<SandboxUsage | undefined>;

export interface HostUsageReaderOptions {
  cgroupMode: CgroupMode;
  /** The directory under each hierarchy (v1) or the v2 tree that holds this node's sandboxes. */
  cgroupParent: string;
  /** Where the sandbox's disk image is mounted (statfs gives its use). */
  diskDir: (sandboxId: string) => string;
  /** Root of the cgroup mounts; default /sys/fs/cgroup. */
  cgroupRoot?: string;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

function field(text: string | undefined, key: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(n) ? n : undefined;
}

/**
 * Counters from the sandbox's cgroup and its disk, a few small file reads and one statfs, cheap
 * enough for every sandbox every few seconds. v2: one directory; v1 and hybrid hosts (where the
 * runtime puts sandboxes on the v1 controllers): the cpuacct and memory hierarchies.
 */
export function createHostUsageReader(options: HostUsageReaderOptions): UsageReader {
  const root = options.cgroupRoot ?? "/sys/fs/cgroup";
  return async (sandboxId) => {
    let cpuUsageNs: number | undefined;
    let memUsage: number | undefined;
    let stat: string | undefined;
    if (options.cgroupMode === "v2") {
      const dir = join(root, options.cgroupParent, sandboxId);
      const usec = field(await read(join(dir, "cpu.stat")), "usage_usec");
      cpuUsageNs = usec === undefined ? undefined : usec * 1000;
      memUsage = num(await read(join(dir, "memory.current")));
      stat = await read(join(dir, "memory.stat"));
    } else {
      cpuUsageNs = num(await read(join(root, "cpuacct", options.cgroupParent, sandboxId, "cpuacct.usage")));
      const mem = join(root, "memory", options.cgroupParent, sandboxId);
      memUsage = num(await read(join(mem, "memory.usage_in_bytes")));
      stat = await read(join(mem, "memory.stat"));
    }
    if (cpuUsageNs === undefined || memUsage === undefined) return undefined;
    const disk = await statfs(options.diskDir(sandboxId)).catch(() => undefined);
    return {
      cpuUsageNs,
      memUsageBytes: memUsage,
      // v2 names: file, inactive_file; v1: total_* (the hierarchy under it), else the cgroup's own.
      memCacheBytes: field(stat, "file") ?? field(stat, "total_cache") ?? field(stat, "cache") ?? 0,
      memInactiveFileBytes: field(stat, "total_inactive_file") ?? field(stat, "inactive_file") ?? 0,
      diskUsedBytes: disk ? (disk.blocks - disk.bfree) * disk.bsize : 0,
      diskTotalBytes: disk ? disk.blocks * disk.bsize : 0,
    };
  };
}
