import { applyTransition, canTransition } from "../lifecycle/state-table.js";
import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import { type ResolvedTemplate, type TemplateStore, templateIdentity } from "../templates/template-store.js";
import type { SandboxBoot } from "./boot.js";
import type { Clock } from "./clock.js";
import type { Destroyable } from "./destroy.js";
import type { EnvdControl } from "./envd-control.js";
import type { HostMemory } from "./host-memory.js";
import type { SandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import { createPoolClaim } from "./pool-claim.js";
import { deficit, excess, type GrowReason, grownTarget, type PoolCounts, type PoolLimits, shrunkTarget } from "./pool-policy.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type { CreateSandboxRequest } from "./types.js";
import type { SandboxView } from "./view.js";

export type { PoolLimits } from "./pool-policy.js";

/** What the operator configures; see docs/operator-guide.md (warm pool). */
export interface WarmPoolSettings extends PoolLimits {
  /** Templates with a pool from the start; any other template gets one (minimum 0) at its first create. */
  templates: string[];
  /** Sandboxes each configured template keeps waiting, idle or not (the initial target). */
  min: number;
  /** Wait after a pool sandbox failed to boot, so a broken template does not spin. Default 5 s. */
  retryMs?: number;
  /** How often idle and memory checks run. Default 1 s. */
  tickMs?: number;
}

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
  memory: HostMemory;
  settings: WarmPoolSettings;
}

/** One template's pool as the node reports it. */
export interface TemplatePoolStats extends PoolCounts {
  templateId: string;
  /** Sandboxes handed out from this pool since the node started. */
  handedOut: number;
  /** Creates of this template that found nothing waiting (they booted cold). */
  misses: number;
}

export interface WarmPoolStats extends PoolLimits {
  memoryAvailableMB: number;
  pools: TemplatePoolStats[];
}

/** Pre-started sandboxes per template that create hands out, so a caller does not wait for a boot. */
export interface WarmPool {
  /** Starts filling and the idle/memory checks. */
  start(): void;
  /** Applies a create request to a waiting sandbox and hands it out; undefined if none fits. Records the demand either way. */
  claim(template: ResolvedTemplate, req: CreateSandboxRequest): Promise<SandboxRecord | undefined>;
  /** Starts boots (up to the concurrency) for every pool below its target. */
  refill(): void;
  /** Pool sandboxes ready to be handed out, all templates together. */
  ready(): number;
  /** Pool sandboxes, booting or ready. */
  members(): SandboxRecord[];
  stats(): WarmPoolStats;
  /** Stops booting and checking; resolves when boots and discards in flight have ended. */
  stop(): Promise<void>;
}

interface TemplatePool {
  templateId: string;
  min: number;
  target: number;
  booting: number;
  handedOut: number;
  misses: number;
  lastDemandAt: number;
  /** No boot before this time (after a failed one). */
  retryAt: number;
}

export function createWarmPool(deps: WarmPoolDeps): WarmPool {
  const { live, locks, boot, destroy, view, envd, records, clock, log, memory, settings } = deps;
  const retryMs = settings.retryMs ?? 5000;
  const pools = new Map<string, TemplatePool>();
  /** Booted but not yet saved and warmed: not to be handed out yet. */
  const warming = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const claim = createPoolClaim(deps);
  let active = 0;
  let stopped = false;
  let cancelTick: (() => void) | undefined;

  const newPool = (templateId: string, min: number): TemplatePool => {
    const p = { templateId, min, target: min, booting: 0, handedOut: 0, misses: 0, lastDemandAt: clock.now(), retryAt: 0 };
    pools.set(templateId, p);
    return p;
  };
  if (settings.max > 0) for (const t of settings.templates) newPool(t, settings.min);

  const members = () => [...live.values()].filter((r) => r.pooled);
  // Pools are per `name` or `name:tag` (templateId here); a member records which build it booted.
  const refOf = (r: SandboxRecord) => r.template?.ref ?? r.templateId;
  const waitingOf = (templateId: string) =>
    [...live.values()].filter((r) => r.pooled && refOf(r) === templateId && r.state === "running" && !warming.has(r.sandboxId));
  const counts = (p: TemplatePool): PoolCounts => ({ min: p.min, target: p.target, waiting: waitingOf(p.templateId).length, booting: p.booting });
  const memoryLow = () => memory.availableMB() < settings.memoryReserveMB;

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const bootOne = async (p: TemplatePool) => {
    let rec: SandboxRecord | undefined;
    const started = clock.now();
    try {
      const template = await deps.templates.resolve(p.templateId);
      const r = boot.newRecord(template, {}, true);
      rec = r;
      warming.add(r.sandboxId);
      live.set(r.sandboxId, r);
      await locks.run(r.sandboxId, () => boot.boot(r, template));
      await records.save(r);
      // One RPC warms envd's Connect path (its first call costs ~40 ms).
      await envd.warm(view.envdAddress(r)).catch(() => undefined);
      log.debug({ templateId: p.templateId, sandboxId: r.sandboxId, bootMs: clock.now() - started, booting: active }, "pool sandbox ready");
    } catch (err) {
      if (rec) live.delete(rec.sandboxId);
      p.retryAt = clock.now() + retryMs;
      log.error({ err, templateId: p.templateId }, `could not start a pool sandbox; retrying in ${retryMs / 1000} s`);
      // Not tracked: stop() must not wait out the pause.
      void clock.sleep(retryMs).then(kick);
    } finally {
      if (rec) warming.delete(rec.sandboxId);
      p.booting--;
      active--;
    }
  };

  /** The pool furthest below its target that may boot now; none when the node is full or memory is low. */
  const pick = (): TemplatePool | undefined => {
    if (members().length >= settings.max || memoryLow()) return undefined;
    const now = clock.now();
    let best: TemplatePool | undefined;
    let bestNeed = 0;
    for (const p of pools.values()) {
      const need = p.retryAt <= now ? deficit(counts(p)) : 0;
      if (need > bestNeed) [best, bestNeed] = [p, need];
    }
    return best;
  };

  // Boots count as members from their launch: `booting` covers the template lookup before the record exists.
  const kick = () => {
    while (!stopped && active < settings.concurrency) {
      const p = pick();
      if (!p) break;
      p.booting++;
      active++;
      track(
        bootOne(p).then(() => {
          trim(p);
          kick();
        }),
      );
    }
  };

  const discard = (rec: SandboxRecord) => {
    live.delete(rec.sandboxId);
    track(
      locks.run(rec.sandboxId, async () => {
        await destroy(rec).catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "cleanup of a pool sandbox failed"));
        if (canTransition(rec.state, "kill")) applyTransition(rec, "kill");
      }),
    );
  };

  /** Discards waiting sandboxes beyond the pool's target. */
  const trim = (p: TemplatePool) => {
    const extra = excess(counts(p));
    for (const rec of waitingOf(p.templateId).slice(0, extra)) discard(rec);
  };

  const grow = (p: TemplatePool, reason: GrowReason) => {
    const target = grownTarget(counts(p), reason, settings, memoryLow());
    if (target === p.target) return;
    p.target = target;
    log.info({ templateId: p.templateId, target, reason }, "warm pool grew");
  };

  const tick = () => {
    const now = clock.now();
    const low = memoryLow();
    // Pool sandboxes a previous node left (re-adopted) of a template with no pool now: a pool of 0 discards them.
    for (const rec of members()) if (!pools.has(rec.templateId) && !warming.has(rec.sandboxId)) newPool(rec.templateId, 0);
    for (const p of [...pools.values()]) {
      const c = counts(p);
      const { target, reason } = shrunkTarget(c, now - p.lastDemandAt, settings, low);
      if (reason) {
        p.target = target;
        log.info({ templateId: p.templateId, target, reason, waiting: c.waiting }, "warm pool shrank");
      }
      trim(p);
      // An on-demand pool back at zero is forgotten, so one-off templates leave nothing behind.
      if (p.min === 0 && p.target === 0 && p.booting === 0 && waitingOf(p.templateId).length === 0) pools.delete(p.templateId);
    }
    kick();
  };

  return {
    members,
    ready: () => members().filter((r) => r.state === "running" && !warming.has(r.sandboxId)).length,

    start() {
      if (stopped || cancelTick) return;
      cancelTick = clock.every(settings.tickMs ?? 1000, tick);
      kick();
    },

    refill: kick,

    stats: () => ({
      max: settings.max,
      concurrency: settings.concurrency,
      idleMs: settings.idleMs,
      memoryReserveMB: settings.memoryReserveMB,
      memoryAvailableMB: Math.floor(Math.min(memory.availableMB(), Number.MAX_SAFE_INTEGER)),
      pools: [...pools.values()].map((p) => ({ templateId: p.templateId, ...counts(p), handedOut: p.handedOut, misses: p.misses })),
    }),

    async stop() {
      stopped = true;
      cancelTick?.();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },

    async claim(template, req) {
      if (settings.max === 0 || stopped) return undefined;
      const { ref: templateId, build } = templateIdentity(template);
      const p = pools.get(templateId) ?? newPool(templateId, 0);
      p.lastDemandAt = clock.now();
      // Booted from a build the template (or tag) no longer points at: never handed out.
      for (const stale of waitingOf(templateId).filter((r) => r.template !== undefined && r.template.build !== build)) {
        log.info({ templateId, sandboxId: stale.sandboxId }, "discarding a pool sandbox of a replaced build");
        discard(stale);
      }
      const [rec] = waitingOf(templateId);
      if (!rec) {
        p.misses++;
        grow(p, "miss");
        kick();
        return undefined;
      }
      rec.pooled = false; // taken: no other create can pick it
      p.handedOut++;
      if (waitingOf(templateId).length === 0) grow(p, "drained");
      // Refill right after the hand-out, not before it: spawning a boot's helpers would delay this create's own steps.
      try {
        return await claim(rec, template, req);
      } finally {
        kick();
      }
    },
  };
}
