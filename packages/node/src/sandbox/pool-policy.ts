/**
 * The warm pool's sizing rules, as pure functions of a template pool's counters, so tests can
 * table them: grow while creates drain the pool faster than boots refill it, shrink after an
 * idle spell or under memory pressure, never past the node-wide maximum.
 */

/** Node-wide settings of the warm pool. */
export interface PoolLimits {
  /** Pool sandboxes (waiting + booting) on the node, all templates together. 0 turns pooling off. */
  max: number;
  /** Pool sandboxes booted at once. */
  concurrency: number;
  /** A pool whose template saw no create for this long shrinks back to its minimum. */
  idleMs: number;
  /** Pools boot only while MemAvailable is at least this; below it they drop to their minimum. */
  memoryReserveMB: number;
}

/** What the policy needs to know of one template's pool. */
export interface PoolCounts {
  min: number;
  target: number;
  /** Booted and ready to hand out. */
  waiting: number;
  /** Being booted. */
  booting: number;
}

export type GrowReason = "drained" | "miss";
export type ShrinkReason = "idle" | "memory";

/**
 * The target after a create of this template. A create that found nothing waiting (`miss`) or
 * took the last waiting sandbox (`drained`) means creates arrive faster than boots refill: one
 * more. A miss grows by two, since that caller already paid a cold boot.
 */
export function grownTarget(p: PoolCounts, reason: GrowReason, limits: PoolLimits, memoryLow: boolean): number {
  if (memoryLow) return p.target;
  return Math.min(limits.max, p.target + (reason === "miss" ? 2 : 1));
}

/** The target once the template has been idle `idleForMs` (or memory ran low): back to the minimum. */
export function shrunkTarget(p: PoolCounts, idleForMs: number, limits: PoolLimits, memoryLow: boolean): { target: number; reason?: ShrinkReason } {
  if (p.target <= p.min) return { target: p.target };
  if (memoryLow) return { target: p.min, reason: "memory" };
  if (idleForMs >= limits.idleMs) return { target: p.min, reason: "idle" };
  return { target: p.target };
}

/** Pool sandboxes this template still needs booted to reach its target. */
export function deficit(p: PoolCounts): number {
  return Math.max(0, p.target - p.waiting - p.booting);
}

/** Waiting sandboxes beyond the target, to be discarded. */
export function excess(p: PoolCounts): number {
  return Math.max(0, Math.min(p.waiting, p.waiting + p.booting - p.target));
}
