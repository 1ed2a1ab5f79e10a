import { create } from "@bufbuild/protobuf";
import { GetWarmPoolResponseSchema, type GetWarmPoolResponse } from "@cove/protocol/nodeapi";
import type { WarmPoolStats } from "../sandbox/pool.js";

/** GetWarmPool's answer; a node without a pool reports max 0 and no pools. */
export function warmPoolToWire(s: WarmPoolStats | undefined): GetWarmPoolResponse {
  if (!s) return create(GetWarmPoolResponseSchema, {});
  return create(GetWarmPoolResponseSchema, {
    max: s.max,
    concurrency: s.concurrency,
    idleTimeoutMs: s.idleMs,
    memoryReserveMb: BigInt(s.memoryReserveMB),
    memoryAvailableMb: BigInt(s.memoryAvailableMB),
    pools: s.pools.map((p) => ({
      templateId: p.templateId,
      min: p.min,
      target: p.target,
      waiting: p.waiting,
      booting: p.booting,
      handedOut: BigInt(p.handedOut),
      misses: BigInt(p.misses),
    })),
  });
}
