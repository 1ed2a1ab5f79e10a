// The gate API calls wait on while `cove up` restarts its node.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createReadinessGate, NodeRestartTimeout } from "../src/commands/up/readiness.js";

const settled = async (p: Promise<unknown>) => {
  let state = "pending";
  p.then(
    () => (state = "resolved"),
    () => (state = "rejected"),
  );
  // Two turns of the microtask queue are enough for an already-settled promise to report.
  await new Promise((r) => setImmediate(r));
  return state;
};

describe("node readiness gate", () => {
  it("is open while the node is up", async () => {
    const gate = createReadinessGate();
    assert.equal(await settled(gate.wait(1000)), "resolved");
  });

  it("releases a waiter from the first crash when a node comes up after a second crash", async () => {
    const gate = createReadinessGate();
    gate.down(); // the node was killed
    const early = gate.wait(60_000);
    gate.down(); // its replacement was killed before it was ready
    const late = gate.wait(60_000);
    assert.equal(await settled(early), "pending");
    gate.up(); // the third node is ready
    assert.equal(await settled(early), "resolved");
    assert.equal(await settled(late), "resolved");
    assert.equal(await settled(gate.wait(1000)), "resolved");
  });

  it("fails a waiter with a coded error when no node comes back in time", async () => {
    const gate = createReadinessGate();
    gate.down();
    // The gate's timer does not hold the process open (cove up must be able to exit); this does.
    const hold = setTimeout(() => undefined, 5000);
    await assert.rejects(
      gate.wait(20),
      (err: unknown) => err instanceof NodeRestartTimeout && err.code === "unavailable" && /not back within/.test(err.message),
    );
    clearTimeout(hold);
  });
});
