// The warm pool's sizing rules as a table: grow, shrink, deficit, excess.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deficit, excess, grownTarget, type PoolLimits, shrunkTarget } from "../src/sandbox/pool-policy.js";

const limits: PoolLimits = { max: 8, concurrency: 2, idleMs: 60_000, memoryReserveMB: 1024 };
const p = (min: number, target: number, waiting = 0, booting = 0) => ({ min, target, waiting, booting });

describe("pool policy", () => {
  it("grows by one when drained, by two on a miss, never past max, not at all when memory is low", () => {
    const cases: Array<[ReturnType<typeof p>, "drained" | "miss", boolean, number]> = [
      [p(2, 2), "drained", false, 3],
      [p(2, 2), "miss", false, 4],
      [p(2, 7), "miss", false, 8],
      [p(2, 8), "drained", false, 8],
      [p(2, 2), "miss", true, 2],
      [p(0, 0), "miss", false, 2],
    ];
    for (const [counts, reason, low, want] of cases) assert.equal(grownTarget(counts, reason, limits, low), want, JSON.stringify({ counts, reason, low }));
  });

  it("shrinks to min after the idle timeout or under memory pressure, and only then", () => {
    assert.deepEqual(shrunkTarget(p(2, 5), 59_999, limits, false), { target: 5 });
    assert.deepEqual(shrunkTarget(p(2, 5), 60_000, limits, false), { target: 2, reason: "idle" });
    assert.deepEqual(shrunkTarget(p(2, 5), 0, limits, true), { target: 2, reason: "memory" });
    assert.deepEqual(shrunkTarget(p(2, 2), 120_000, limits, true), { target: 2 });
  });

  it("counts boots in flight toward the target; excess is only ever waiting sandboxes", () => {
    assert.equal(deficit(p(2, 4, 1, 1)), 2);
    assert.equal(deficit(p(2, 4, 3, 2)), 0);
    assert.equal(excess(p(2, 2, 4, 0)), 2);
    assert.equal(excess(p(2, 2, 1, 3)), 1, "booting ones are not discarded, waiting ones are");
    assert.equal(excess(p(2, 5, 2, 1)), 0);
  });
});
