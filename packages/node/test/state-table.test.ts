import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { applyTransition, canTransition, nextState, type SandboxState, type TransitionEvent } from "../src/lifecycle/state-table.js";

describe("sandbox lifecycle table", () => {
  const legal: Array<[SandboxState, TransitionEvent, SandboxState]> = [
    ["pending", "start", "starting"],
    ["starting", "ready", "running"],
    ["running", "pause", "paused"],
    ["paused", "resume", "running"],
    ["paused", "hibernate", "hibernated"],
    ["hibernated", "resume", "running"],
    ["running", "kill", "stopped"],
    ["paused", "kill", "stopped"],
    ["starting", "fail", "error"],
    ["error", "kill", "stopped"],
  ];
  for (const [from, event, to] of legal) {
    it(`${from} --${event}--> ${to}`, () => assert.equal(nextState(from, event), to));
  }

  const illegal: Array<[SandboxState, TransitionEvent]> = [
    ["running", "resume"],
    ["running", "hibernate"],
    ["paused", "pause"],
    ["stopped", "start"],
    ["stopped", "kill"],
    ["pending", "ready"],
    ["hibernated", "pause"],
  ];
  for (const [from, event] of illegal) {
    it(`refuses ${event} when ${from}`, () => {
      assert.equal(canTransition(from, event), false);
      assert.throws(
        () => nextState(from, event),
        (err: unknown) => err instanceof NodeError && err.code === "invalid_transition",
      );
    });
  }

  it("applyTransition moves a record and leaves it as it was on an illegal move", () => {
    const rec: { state: SandboxState } = { state: "running" };
    assert.equal(applyTransition(rec, "pause"), "paused");
    assert.equal(rec.state, "paused");
    assert.throws(
      () => applyTransition(rec, "pause"),
      (err: unknown) => err instanceof NodeError && err.code === "invalid_transition",
    );
    assert.equal(rec.state, "paused");
  });
});
