import type { Clock } from "../sandbox/clock.js";
import type { SandboxUsage, UsageReader } from "./usage.js";

/** One resource sample of one running sandbox. */
export interface MetricSample {
  sandboxId: string;
  /** ms since the epoch. */
  at: number;
  cpuCount: number;
  /** Busy share of the sandbox's CPUs since its previous sample, 0-100. */
  cpuUsedPct: number;
  memUsedBytes: number;
  /** The sandbox's memory limit. */
  memTotalBytes: number;
  memCacheBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
}

/** What the sampler needs to know of a sandbox. */
export interface SampledSandbox {
  sandboxId: string;
  state: string;
  cpuCount: number;
  memoryMB: number;
}

export interface MetricsSamplerOptions {
  /** The node's sandboxes now; only running ones are sampled. */
  sandboxes: () => SampledSandbox[];
  read: UsageReader;
  clock: Clock;
  /** Default 5000. */
  everyMs?: number;
  /** Samples older than this are dropped; callers poll well within it. Default 10 minutes. */
  keepMs?: number;
  onError?: (err: unknown) => void;
}

export interface MetricsSampler {
  /** Samples every running sandbox once (the timer calls it; tests call it directly). */
  tick(): Promise<void>;
  /** Samples after `cursor`, oldest first, and the cursor to pass next time. */
  since(cursor: bigint): { samples: MetricSample[]; cursor: bigint };
  stop(): void;
}

/**
 * Samples every running sandbox's CPU, memory and disk on a timer and keeps a few minutes of
 * them for the api to fetch. CPU use is the cgroup's CPU time between two samples over the wall
 * time times the sandbox's CPUs; a sandbox that was not running at the previous tick (new, or
 * resumed) starts over, so a pause never shows up as idle time.
 */
export function createMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const { clock } = options;
  const keepMs = options.keepMs ?? 600_000;
  const held: { seq: bigint; sample: MetricSample }[] = [];
  const previous = new Map<string, { at: number; usage: SandboxUsage }>();
  // Seeded from the clock (µs) so a cursor from before a node restart is never ahead of new samples.
  let seq = BigInt(clock.now()) * 1000n;
  let running: Promise<void> | undefined;

  async function sampleAll(): Promise<void> {
    const now = clock.now();
    const live = options.sandboxes().filter((s) => s.state === "running");
    const seen = new Set<string>();
    for (const s of live) {
      seen.add(s.sandboxId);
      const usage = await options.read(s.sandboxId).catch((err: unknown) => {
        options.onError?.(err);
        return undefined;
      });
      if (usage === undefined) continue;
      const at = clock.now();
      const prev = previous.get(s.sandboxId);
      previous.set(s.sandboxId, { at, usage });
      // The first reading only sets the baseline: a share needs two.
      if (prev === undefined || at <= prev.at) continue;
      const busyNs = Math.max(0, usage.cpuUsageNs - prev.usage.cpuUsageNs);
      const cpus = Math.max(1, s.cpuCount);
      const pct = Math.min(100, (busyNs / ((at - prev.at) * 1e6 * cpus)) * 100);
      held.push({
        seq: ++seq,
        sample: {
          sandboxId: s.sandboxId,
          at,
          cpuCount: s.cpuCount,
          cpuUsedPct: Math.round(pct * 100) / 100,
          memUsedBytes: Math.max(0, usage.memUsageBytes - usage.memInactiveFileBytes),
          memTotalBytes: s.memoryMB * 1024 * 1024,
          memCacheBytes: usage.memCacheBytes,
          diskUsedBytes: usage.diskUsedBytes,
          diskTotalBytes: usage.diskTotalBytes,
        },
      });
    }
    // Paused, killed or gone: the next reading starts a new baseline.
    for (const id of previous.keys()) if (!seen.has(id)) previous.delete(id);
    while (held.length > 0 && (held[0]?.sample.at ?? now) < now - keepMs) held.shift();
  }

  function tick(): Promise<void> {
    // One pass at a time: a slow disk must not pile ticks up.
    running ??= sampleAll().finally(() => (running = undefined));
    return running;
  }

  const stopTimer = clock.every(options.everyMs ?? 5000, () => {
    tick().catch((err: unknown) => options.onError?.(err));
  });

  return {
    tick,
    since(cursor) {
      // A cursor ahead of ours (a clock set back across a restart) gets everything held.
      const from = cursor > seq ? 0n : cursor;
      return { samples: held.filter((h) => h.seq > from).map((h) => h.sample), cursor: seq };
    },
    stop: stopTimer,
  };
}
