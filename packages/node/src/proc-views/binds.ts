import { join } from "node:path";
import type { BindMount } from "../runtime/container/oci-spec.js";

/**
 * The files lxcfs computes per reader from the reader's cgroup (memory, cpu quota, pid-namespace
 * start), bound read-only over the kernel's host-wide ones in every sandbox. /proc/slabinfo is
 * left out: it is root-only on the host and says nothing about sizing.
 */
export const procViewFiles: readonly string[] = [
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/loadavg",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/sys/devices/system/cpu/online",
];

/** The read-only binds of lxcfs's files (mounted at `mountDir`) over the sandbox's own. */
export function procViewBinds(mountDir: string): BindMount[] {
  return procViewFiles.map((file) => ({ source: join(mountDir, file), destination: file, readonly: true }));
}
