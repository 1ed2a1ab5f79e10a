import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ListMetricsResponseSchema, type ListMetricsResponse } from "@cove/protocol/nodeapi";
import type { MetricSample } from "../metrics/sampler.js";

/** ListMetrics' answer; a node without a sampler has none to give. */
export function metricsToWire(r: { samples: MetricSample[]; cursor: bigint } | undefined, after: bigint): ListMetricsResponse {
  if (!r) return create(ListMetricsResponseSchema, { cursor: after });
  return create(ListMetricsResponseSchema, {
    cursor: r.cursor,
    samples: r.samples.map((m) => ({
      sandboxId: m.sandboxId,
      at: timestampFromMs(m.at),
      cpuCount: m.cpuCount,
      cpuUsedPct: m.cpuUsedPct,
      memUsedBytes: BigInt(Math.round(m.memUsedBytes)),
      memTotalBytes: BigInt(Math.round(m.memTotalBytes)),
      memCacheBytes: BigInt(Math.round(m.memCacheBytes)),
      diskUsedBytes: BigInt(Math.round(m.diskUsedBytes)),
      diskTotalBytes: BigInt(Math.round(m.diskTotalBytes)),
    })),
  });
}
