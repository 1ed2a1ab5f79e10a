import { readFileSync } from "node:fs";

/** How much memory the host can still give without pressure; the warm pool reads it before it grows. */
export interface HostMemory {
  /** MemAvailable in MiB. */
  availableMB(): number;
}

/** MemAvailable from /proc/meminfo (a procfs read of a few µs, so sync is fine). */
export function createHostMemory(meminfo = "/proc/meminfo"): HostMemory {
  return {
    availableMB() {
      const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync(meminfo, "utf8"));
      // A kernel without MemAvailable (< 3.14) gives no signal: do not block the pool on it.
      return match ? Number(match[1]) / 1024 : Number.POSITIVE_INFINITY;
    },
  };
}
