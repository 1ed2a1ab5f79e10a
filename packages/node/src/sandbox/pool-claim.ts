import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { ResolvedTemplate } from "../templates/template-store.js";
import type { SandboxBoot } from "./boot.js";
import type { Clock } from "./clock.js";
import type { Destroyable } from "./destroy.js";
import type { SandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type { CreateSandboxRequest } from "./types.js";

const MiB = 1024 * 1024;

export interface PoolClaimDeps {
  live: Map<string, SandboxRecord>;
  locks: SandboxLocks;
  boot: SandboxBoot;
  destroy: (rec: Destroyable) => Promise<void>;
  runtime: SandboxRuntime;
  network: NetworkManager;
  records: RecordStore;
  clock: Clock;
  log: Logger;
}

/**
 * Turns a waiting pool sandbox (already unmarked `pooled` by the caller, so no other create
 * can take it) into the caller's: limits, internet, envd settings, timeout, metadata.
 * Undefined if that failed; the sandbox is then discarded and the caller boots a new one.
 */
export function createPoolClaim(deps: PoolClaimDeps) {
  const { live, locks, boot, destroy, runtime, network, records, clock, log } = deps;
  return (rec: SandboxRecord, template: ResolvedTemplate, req: CreateSandboxRequest): Promise<SandboxRecord | undefined> =>
    locks.run(rec.sandboxId, async () => {
      try {
        const cpuCount = req.cpuCount ?? rec.cpuCount;
        const memoryMB = req.memoryMB ?? rec.memoryMB;
        // Always: the pool sandbox booted in the background (low CPU weight); the caller's runs at full weight.
        await runtime.update(rec.sandboxId, { cpus: cpuCount, background: false, ...(memoryMB !== rec.memoryMB ? { memoryBytes: memoryMB * MiB } : {}) });
        const internet = req.allowInternetAccess ?? true;
        if (internet !== rec.allowInternetAccess) await network.setInternet(rec.sandboxId, internet);
        await boot.initEnvd(rec, template, req);
        const now = clock.now();
        Object.assign(rec, {
          cpuCount,
          memoryMB,
          allowInternetAccess: internet,
          autoPause: req.autoPause ?? false,
          metadata: { ...req.metadata },
          timeoutMs: req.timeoutMs,
          startedAt: new Date(now).toISOString(),
          endAt: new Date(now + req.timeoutMs).toISOString(),
        });
        delete rec.pooled;
        await records.save(rec);
        return rec;
      } catch (err) {
        log.warn({ sandboxId: rec.sandboxId, err }, "pooled sandbox could not be handed out; discarding it");
        live.delete(rec.sandboxId);
        await destroy(rec).catch(() => undefined);
        return undefined;
      }
    });
}
