// Memory of everything running in a set of cgroups, and the host's MemAvailable.
import { readdirSync, readFileSync } from "node:fs";
import { memoryOf } from "./processes.js";

/** Pids whose /proc/<pid>/cgroup text satisfies `matches`; processes that exit meanwhile are skipped. */
function pidsWhoseCgroup(matches: (cgroupText: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/cgroup`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    if (matches(text)) pids.push(Number(entry));
  }
  return pids;
}

/** Pids whose /proc/<pid>/cgroup names a path containing `/<parent>/` in any hierarchy. */
export function pidsUnderCgroup(parent: string): number[] {
  const needle = `/${parent}/`;
  return pidsWhoseCgroup((text) => text.includes(needle));
}

/** Pids in a cgroup whose last path component is one of `names` (a sandbox's cgroup is named by its id). */
export function pidsInCgroupsNamed(names: ReadonlySet<string>): number[] {
  return pidsWhoseCgroup((text) => text.split("\n").some((l) => names.has(l.slice(l.lastIndexOf("/") + 1))));
}

export interface MemorySum {
  pssMb: number;
  rssMb: number;
  /** Processes whose smaps_rollup could be read. */
  processes: number;
}

/** Sum of PSS and RSS over `pids`; processes that exit meanwhile are skipped. */
export function sumMemory(pids: readonly number[]): MemorySum {
  const sum: MemorySum = { pssMb: 0, rssMb: 0, processes: 0 };
  for (const pid of pids) {
    try {
      const m = memoryOf(pid);
      sum.pssMb += m.pssMb;
      sum.rssMb += m.rssMb;
      sum.processes++;
    } catch {
      // exited
    }
  }
  return sum;
}

/** MemAvailable from /proc/meminfo, in MiB. */
export function memAvailableMb(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  if (!match) throw new Error("no MemAvailable in /proc/meminfo");
  return Number(match[1]) / 1024;
}
