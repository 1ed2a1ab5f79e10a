// Per-sandbox locking on fakes: two operations on one sandbox never interleave; operations on
// different sandboxes run at the same time.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { settle } from "./helpers/fake-clock.js";
import { createFakeNode, type FakeNode } from "./helpers/fake-node.js";
import { createGate } from "./helpers/gate.js";

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

describe("sandbox manager locking (fakes)", () => {
  it("a kill waits for a pause in progress on the same sandbox, then runs", async () => {
    node = createFakeNode();
    const n = node;
    await n.manager.start();
    const { sandboxId: id } = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    const gate = createGate();
    n.runtime.holdNext("pause", gate);
    const pausing = n.manager.pause(id);
    const killing = n.manager.kill(id);
    await settle();
    assert.ok(n.runtime.calls.includes(`pause:${id}`));
    assert.ok(!n.runtime.calls.includes(`kill:${id}`), "kill started while pause was in progress");
    gate.open();
    await pausing;
    await killing;
    const pauseDone = n.runtime.calls.indexOf(`pause:${id}:done`);
    const killStart = n.runtime.calls.indexOf(`kill:${id}`);
    assert.ok(pauseDone >= 0 && killStart > pauseDone, `interleaved: ${n.runtime.calls.join(", ")}`);
    assert.deepEqual(
      n.events.map((e) => e.type),
      ["created", "paused", "killed"],
    );
  });

  it("the second of two pauses sees the first one's result", async () => {
    node = createFakeNode();
    const n = node;
    await n.manager.start();
    const { sandboxId: id } = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    const gate = createGate();
    n.runtime.holdNext("pause", gate);
    const first = n.manager.pause(id);
    const second = n.manager.pause(id);
    gate.open();
    assert.equal((await first).state, "paused");
    await assert.rejects(second, (err: unknown) => err instanceof NodeError && err.code === "invalid_transition");
    assert.equal(n.runtime.calls.filter((c) => c === `pause:${id}`).length, 1);
  });

  it("an operation held on one sandbox does not hold another sandbox's", async () => {
    node = createFakeNode();
    const n = node;
    await n.manager.start();
    const a = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    const b = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    const gate = createGate();
    n.runtime.holdNext("pause", gate);
    const pausingA = n.manager.pause(a.sandboxId);
    await settle();
    assert.equal((await n.manager.pause(b.sandboxId)).state, "paused", "b waited for a");
    assert.equal(n.manager.get(a.sandboxId).state, "running");
    gate.open();
    assert.equal((await pausingA).state, "paused");
  });
});
