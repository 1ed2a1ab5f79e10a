import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { ResolvedTemplate, TemplateStore } from "../templates/template-store.js";
import type { SandboxBoot } from "./boot.js";
import type { Clock } from "./clock.js";
import type { Destroyable } from "./destroy.js";
import type { EnvdControl } from "./envd-control.js";
import type { SandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type { CreateSandboxRequest } from "./types.js";
import type { SandboxView } from "./view.js";

const MiB = 1024 * 1024;

export interface WarmPoolDeps {
  /** Shared with the manager: pool sandboxes live there too, marked `pooled`. */
  live: Map<string, SandboxRecord>;
  locks: SandboxLocks;
  boot: SandboxBoot;
  destroy: (rec: Destroyable) => Promise<void>;
  view: SandboxView;
  templates: TemplateStore;
  runtime: SandboxRuntime;
  network: NetworkManager;
  envd: EnvdControl;
  records: RecordStore;
  clock: Clock;
  log: Logger;
  templateId: string;
  /** Sandboxes to keep booted; 0 turns the pool off. */
  size: number;
  /** Wait after a pool sandbox failed to boot, so a broken template does not spin. */
  retryMs?: number;
}

/** Pre-started sandboxes of one template that create hands out, so a caller does not wait for a boot. */
export interface WarmPool {
  /** Applies a create request to a waiting sandbox and hands it out; undefined if none fits. */
  claim(template: ResolvedTemplate, req: CreateSandboxRequest): Promise<SandboxRecord | undefined>;
  /** Boots sandboxes in the background until the pool is full again (one refill at a time). */
  refill(): void;
  /** Pool sandboxes ready to be handed out. */
  ready(): number;
  /** Pool sandboxes, booting or ready. */
  members(): SandboxRecord[];
  /** Stops refilling; resolves when a refill in flight has ended. */
  stop(): Promise<void>;
}

export function createWarmPool(deps: WarmPoolDeps): WarmPool {
  const { live, locks, boot, destroy, view, runtime, network, envd, records, clock, log } = deps;
  const retryMs = deps.retryMs ?? 5000;
  let stopped = false;
  let refilling: Promise<void> | undefined;
  const members = () => [...live.values()].filter((r) => r.pooled);

  const fill = async () => {
    while (!stopped && members().length < deps.size) {
      const template = await deps.templates.resolve(deps.templateId);
      const rec = boot.newRecord(template, {}, true);
      live.set(rec.sandboxId, rec);
      try {
        await locks.run(rec.sandboxId, () => boot.boot(rec, template));
        await records.save(rec);
        // One RPC warms envd's Connect path (its first call costs ~40 ms).
        await envd.warm(view.envdAddress(rec)).catch(() => undefined);
      } catch (err) {
        live.delete(rec.sandboxId);
        log.error({ err, templateId: deps.templateId }, `could not start a pool sandbox; retrying in ${retryMs / 1000} s`);
        await clock.sleep(retryMs);
      }
    }
  };

  return {
    members,
    ready: () => members().filter((r) => r.state === "running").length,

    refill() {
      if (stopped || deps.size === 0 || refilling !== undefined) return;
      refilling = fill()
        .catch((err: unknown) => log.error({ err, templateId: deps.templateId }, "pool refill stopped"))
        .finally(() => {
          refilling = undefined;
        });
    },

    async stop() {
      stopped = true;
      await refilling;
    },

    async claim(template, req) {
      const rec = [...live.values()].find((r) => r.pooled && r.templateId === template.manifest.name && r.state === "running");
      if (!rec) return undefined;
      rec.pooled = false; // taken: no other create can pick it
      return locks.run(rec.sandboxId, async () => {
        try {
          const cpuCount = req.cpuCount ?? rec.cpuCount;
          const memoryMB = req.memoryMB ?? rec.memoryMB;
          if (cpuCount !== rec.cpuCount || memoryMB !== rec.memoryMB) {
            await runtime.update(rec.sandboxId, { cpus: cpuCount, memoryBytes: memoryMB * MiB });
          }
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
    },
  };
}
