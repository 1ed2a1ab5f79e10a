// Host CPU use over an interval, from the aggregate `cpu` line of /proc/stat.
import { readFileSync } from "node:fs";

export interface CpuSnapshot {
  busy: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const fields = (/^cpu\s+(.+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? "").trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of all CPUs' time that was busy between two snapshots, 0..100 (every process on the host counts). */
export function busyPercent(from: CpuSnapshot, to: CpuSnapshot): number {
  const total = to.total - from.total;
  return total > 0 ? (100 * (to.busy - from.busy)) / total : Number.NaN;
}

/** CPU time all processes on the host used between two snapshots, in ms (/proc/stat counts in USER_HZ = 100 ticks/s on Linux). */
export function busyMs(from: CpuSnapshot, to: CpuSnapshot): number {
  return (to.busy - from.busy) * 10;
}
