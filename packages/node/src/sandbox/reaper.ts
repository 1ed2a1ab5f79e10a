import type { RuntimeStatus, SandboxRuntime } from "../runtime/runtime.js";
import type { Clock } from "./clock.js";
import type { SandboxLocks } from "./locks.js";
import type { Logger } from "./logger.js";
import type { SandboxOperations } from "./operations.js";
import type { SandboxRecord } from "./records.js";

export interface ReaperDeps {
  live: Map<string, SandboxRecord>;
  locks: SandboxLocks;
  ops: SandboxOperations;
  runtime: SandboxRuntime;
  clock: Clock;
  log: Logger;
  /** How often expiries are checked. Default 500 ms. */
  intervalMs?: number;
  /** Every how many ticks the runtime is asked which sandboxes are still alive. Default 10. */
  aliveCheckEvery?: number;
  /** Called after a died sandbox was cleaned up (a pool sandbox leaves a gap to refill). */
  onDied?: () => void;
}

/** Stops sandboxes whose time ran out (kill, or pause with autoPause) and cleans up those whose init died. */
export interface Reaper {
  start(): void;
  stop(): void;
  /** One expiry pass: starts a kill or pause for each expired running sandbox (not awaited). */
  reap(): void;
  /** One liveness pass against the runtime's list. */
  checkAlive(): Promise<void>;
}

export function createReaper(deps: ReaperDeps): Reaper {
  const { live, locks, ops, runtime, clock, log } = deps;
  const every = deps.aliveCheckEvery ?? 10;
  const reaping = new Set<string>();
  let cancel: (() => void) | undefined;

  const reap = () => {
    const now = clock.now();
    for (const rec of live.values()) {
      if (rec.pooled || rec.state !== "running" || Date.parse(rec.endAt) > now || reaping.has(rec.sandboxId)) continue;
      const id = rec.sandboxId;
      reaping.add(id);
      const action = rec.autoPause ? ops.pause(id, "timeout") : ops.kill(id, "timeout");
      action.catch((err: unknown) => log.error({ sandboxId: id, err }, "reaper could not stop an expired sandbox")).finally(() => reaping.delete(id));
    }
  };

  const checkAlive = async () => {
    let states: Map<string, RuntimeStatus>;
    try {
      states = new Map((await runtime.list()).map((s) => [s.sandboxId, s.status]));
    } catch (err) {
      log.warn({ err }, "runtime list failed");
      return;
    }
    for (const rec of live.values()) {
      if (rec.state !== "running" && rec.state !== "paused") continue;
      // A sandbox in an operation may be legitimately between runtime states; the next pass sees it.
      if (locks.busy(rec.sandboxId)) continue;
      const status = states.get(rec.sandboxId);
      if (status === "running" || status === "paused") continue;
      void ops
        .died(rec.sandboxId, status ?? "missing")
        .then((cleaned) => {
          if (cleaned) deps.onDied?.();
        })
        .catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "could not clean up a died sandbox"));
    }
  };

  return {
    reap,
    checkAlive,
    start() {
      if (cancel) return;
      let ticks = 0;
      cancel = clock.every(deps.intervalMs ?? 500, () => {
        reap();
        if (++ticks % every === 0) void checkAlive();
      });
      reap();
    },
    stop() {
      cancel?.();
      cancel = undefined;
    },
  };
}
