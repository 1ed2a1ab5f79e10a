import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Logger } from "pino";
import type { MetricsStore } from "./store.js";

export interface MetricsCollectorOptions {
  node: NodeClient;
  store: MetricsStore;
  logger: Logger;
  /** How often to fetch the node's new samples (ms). The node samples every 5 s. */
  collectEveryMs: number;
  /** How long a killed sandbox's history is kept (ms). */
  retentionMs: number;
  /** How often old history is pruned (ms). */
  pruneEveryMs: number;
  now?: () => number;
}

export interface MetricsCollector {
  /** Fetches and stores the node's samples since the last call; returns how many were stored. */
  collect(): Promise<number>;
  /** Drops history past the retention window; returns how many samples went. */
  prune(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Polls the node's ListMetrics and keeps the samples in the database, so a sandbox's history
 * outlives the node's few minutes of memory and the sandbox itself (for the retention window).
 * The cursor lives in memory: a restarted api asks for everything the node still holds, and
 * the store drops the samples it already has.
 */
export function startMetricsCollector(options: MetricsCollectorOptions): MetricsCollector {
  const { node, store, logger } = options;
  const now = options.now ?? Date.now;
  let cursor = 0n;
  let collecting: Promise<number> | undefined;

  async function collectOnce(): Promise<number> {
    const res = await node.listMetrics({ after: cursor });
    const stored = await store.insert(
      res.samples.map((m) => ({
        sandboxId: m.sandboxId,
        at: m.at ? timestampDate(m.at) : new Date(now()),
        cpuCount: m.cpuCount,
        cpuUsedPct: m.cpuUsedPct,
        memUsed: Number(m.memUsedBytes),
        memTotal: Number(m.memTotalBytes),
        memCache: Number(m.memCacheBytes),
        diskUsed: Number(m.diskUsedBytes),
        diskTotal: Number(m.diskTotalBytes),
      })),
    );
    cursor = res.cursor;
    return stored;
  }

  const collect = () => {
    collecting ??= collectOnce().finally(() => (collecting = undefined));
    return collecting;
  };
  const prune = () => store.prune(new Date(now() - options.retentionMs));

  const collectTimer = setInterval(() => {
    collect().catch((err: unknown) => logger.warn({ err }, "collecting sandbox metrics from the node failed"));
  }, options.collectEveryMs);
  collectTimer.unref();
  const pruneTimer = setInterval(() => {
    prune().catch((err: unknown) => logger.warn({ err }, "pruning sandbox metrics failed"));
  }, options.pruneEveryMs);
  pruneTimer.unref();

  return {
    collect,
    prune,
    async stop() {
      clearInterval(collectTimer);
      clearInterval(pruneTimer);
      await collecting?.catch(() => undefined);
    },
  };
}
