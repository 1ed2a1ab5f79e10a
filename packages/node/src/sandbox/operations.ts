import { NodeError } from "../errors.js";
import { applyTransition, canTransition, nextState } from "../lifecycle/state-table.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { ResolvedTemplate } from "../templates/template-store.js";
import type { SandboxBoot } from "./boot.js";
import type { BootGate } from "./boot-gate.js";
import type { Clock } from "./clock.js";
import type { AfterStop, Destroyable } from "./destroy.js";
import type { SandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";
import type { CreateSandboxRequest, SandboxEventReason, SandboxInfo } from "./types.js";
import { validateTimeout } from "./validate.js";
import type { SandboxView } from "./view.js";

export interface OperationsDeps {
  /** Every sandbox this node holds, pool sandboxes and creates in flight included. */
  live: Map<string, SandboxRecord>;
  locks: SandboxLocks;
  boot: SandboxBoot;
  /** Caps callers' cold boots running at once. */
  gate: BootGate;
  destroy: (rec: Destroyable, afterStop?: AfterStop) => Promise<void>;
  view: SandboxView;
  runtime: SandboxRuntime;
  records: RecordStore;
  clock: Clock;
  log: Logger;
}

/** The lifecycle operations on one sandbox; each runs under that sandbox's lock and moves it through the state table. */
export interface SandboxOperations {
  /** A caller's sandbox (never a pool one); not_found otherwise. */
  find(sandboxId: string): SandboxRecord;
  /** Boots a new sandbox for the request and hands envd its settings. */
  create(template: ResolvedTemplate, req: CreateSandboxRequest): Promise<SandboxRecord>;
  kill(sandboxId: string, reason: SandboxEventReason, afterStop?: AfterStop): Promise<void>;
  pause(sandboxId: string, reason: SandboxEventReason): Promise<SandboxInfo>;
  resume(sandboxId: string, timeoutMs?: number): Promise<SandboxInfo>;
  setTimeout(sandboxId: string, timeoutMs: number): Promise<SandboxInfo>;
  /** Cleans up a sandbox whose init died on its own; false if it was already gone or no longer live. */
  died(sandboxId: string, runtimeStatus: string): Promise<boolean>;
  /** Kills `rec` at node shutdown, whatever its state; cleanup failures are logged, not thrown. */
  discard(rec: SandboxRecord): Promise<void>;
}

export function createSandboxOperations(deps: OperationsDeps): SandboxOperations {
  const { live, locks, boot, gate, destroy, view, runtime, records, clock, log } = deps;

  const find = (id: string): SandboxRecord => {
    const rec = live.get(id);
    if (!rec || rec.pooled) throw new NodeError("not_found", `sandbox '${id}' not found`);
    return rec;
  };

  const renew = (rec: SandboxRecord) => {
    rec.endAt = new Date(clock.now() + rec.timeoutMs).toISOString();
  };

  return {
    find,

    async create(template, req) {
      const rec = boot.newRecord(template, req, false);
      live.set(rec.sandboxId, rec);
      try {
        await locks.run(rec.sandboxId, async () => {
          // The slot covers /init too: envd's first answer is part of its start's CPU.
          await gate.run(async () => {
            await boot.boot(rec, template);
            await boot.initEnvd(rec, template, req);
          });
          rec.startedAt = new Date(clock.now()).toISOString();
          rec.timeoutMs = req.timeoutMs;
          renew(rec);
          await records.save(rec);
        });
      } catch (err) {
        live.delete(rec.sandboxId);
        // boot cleans up its own failures; a running sandbox failed after it (envd /init, the save).
        if (rec.state === "running") await destroy(rec).catch(() => undefined);
        throw err;
      }
      return rec;
    },

    kill: (id, reason, afterStop) =>
      locks.run(id, async () => {
        const rec = find(id);
        nextState(rec.state, "kill");
        try {
          await destroy(rec, afterStop);
        } finally {
          live.delete(id);
          applyTransition(rec, "kill");
          view.emit("killed", rec, reason);
        }
      }),

    pause: (id, reason) =>
      locks.run(id, async () => {
        const rec = find(id);
        nextState(rec.state, "pause");
        await runtime.pause(id);
        applyTransition(rec, "pause");
        await records.save(rec);
        view.emit("paused", rec, reason);
        return view.info(rec);
      }),

    resume: (id, timeoutMs) =>
      locks.run(id, async () => {
        if (timeoutMs !== undefined) validateTimeout(timeoutMs);
        const rec = find(id);
        nextState(rec.state, "resume");
        await runtime.resume(id);
        applyTransition(rec, "resume");
        if (timeoutMs !== undefined) rec.timeoutMs = timeoutMs;
        renew(rec);
        await records.save(rec);
        view.emit("resumed", rec, "request");
        return view.info(rec);
      }),

    setTimeout: (id, timeoutMs) =>
      locks.run(id, async () => {
        validateTimeout(timeoutMs);
        const rec = find(id);
        rec.timeoutMs = timeoutMs;
        renew(rec);
        await records.save(rec);
        return view.info(rec);
      }),

    died: (id, runtimeStatus) =>
      locks.run(id, async () => {
        const rec = live.get(id);
        if (!rec || !canTransition(rec.state, "fail")) return false;
        log.warn({ sandboxId: id, status: runtimeStatus }, "sandbox died; cleaning up");
        live.delete(id);
        applyTransition(rec, "fail");
        await destroy(rec).catch(() => undefined);
        view.emit("killed", rec, "error", "the sandbox's init process exited");
        return true;
      }),

    discard: (rec) =>
      locks.run(rec.sandboxId, async () => {
        if (live.get(rec.sandboxId) !== rec) return;
        live.delete(rec.sandboxId);
        await destroy(rec).catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "cleanup failed"));
        if (canTransition(rec.state, "kill")) applyTransition(rec, "kill");
        view.emit("killed", rec, "request");
      }),
  };
}
