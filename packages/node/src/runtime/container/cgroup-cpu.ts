import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../../errors.js";
import type { CgroupMode } from "./host-detect.js";

/** A sandbox's CPU settings: its quota in CPUs, and whether it only gets CPU nobody else wants. */
export interface CpuSettings {
  cpus: number;
  background: boolean;
}

/**
 * A background sandbox's `cpu.shares`: 1/16 of one CPU's weight. Measured with the pool bench
 * (docs/benchmarks.md): the minimum (2) starved refills while two callers kept both cores busy,
 * so the pool ran dry and creates went cold; 256 gave back most of the sequential gain.
 */
export const backgroundShares = 64;

/** The v1 `cpu.shares` for these settings: 1024 per CPU like Docker (minimum 2), less in the background. */
export function cpuShares(s: CpuSettings): number {
  return s.background ? backgroundShares : Math.max(2, Math.round(s.cpus * 1024));
}

/** v2's `cpu.weight` for a v1 share count, by the conversion crun and runc apply to the spec. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/**
 * Sets a live sandbox's CPU quota and weight by writing its cgroup files: a hand-out from the
 * warm pool does this on the caller's path, where spawning `crun update` would cost a process.
 */
export async function writeCpuSettings(root: string, mode: CgroupMode, cgroupPath: string, s: CpuSettings, periodUs: number): Promise<void> {
  const quota = Math.round(s.cpus * periodUs);
  const files: Array<[string, string]> =
    mode === "v2"
      ? [
          [join(root, cgroupPath, "cpu.max"), `${quota} ${periodUs}`],
          [join(root, cgroupPath, "cpu.weight"), String(sharesToWeight(cpuShares(s)))],
        ]
      : [
          [join(root, "cpu", cgroupPath, "cpu.cfs_period_us"), String(periodUs)],
          [join(root, "cpu", cgroupPath, "cpu.cfs_quota_us"), String(quota)],
          [join(root, "cpu", cgroupPath, "cpu.shares"), String(cpuShares(s))],
        ];
  for (const [file, value] of files) {
    try {
      await writeFile(file, value);
    } catch (err) {
      throw new NodeError("runtime_failed", `cannot set ${file} to ${value}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
