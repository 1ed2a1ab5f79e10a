// The reaper on fakes and a fake clock: expiry kills or auto-pauses, and a sandbox whose init
// died is cleaned up and reported once.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { until } from "./helpers/fake-clock.js";
import { createFakeNode, type FakeNode } from "./helpers/fake-node.js";

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function started(): Promise<FakeNode> {
  node = createFakeNode({ reaperIntervalMs: 500 });
  await node.manager.start();
  return node;
}

describe("reaper (fakes)", () => {
  it("kills a sandbox when its time runs out, not before", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 3_000 });
    await n.clock.advance(2_500);
    assert.equal(n.manager.get(sb.sandboxId).state, "running", "killed before its end");
    await n.clock.advance(500);
    await until(() => n.events.some((e) => e.type === "killed"), "killed event");
    assert.deepEqual(
      n.events.map((e) => [e.type, e.reason ?? ""]),
      [
        ["created", ""],
        ["killed", "timeout"],
      ],
    );
    assert.deepEqual(n.manager.list(), []);
    assert.equal(n.runtime.containers.size, 0);
    assert.equal(n.network.nets.size, 0);
  });

  it("pauses an autoPause sandbox at its end instead, and leaves it paused", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 1_000, autoPause: true });
    await n.clock.advance(1_000);
    await until(() => n.events.some((e) => e.type === "paused"), "paused event");
    await n.clock.advance(10_000);
    assert.deepEqual(
      n.events.map((e) => [e.type, e.reason ?? ""]),
      [
        ["created", ""],
        ["paused", "timeout"],
      ],
    );
    assert.equal(n.manager.get(sb.sandboxId).state, "paused");
    assert.equal(n.runtime.containers.get(sb.sandboxId), "paused");
  });

  it("a timeout set later moves the end", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 1_000 });
    await n.manager.setTimeout(sb.sandboxId, 60_000);
    await n.clock.advance(30_000);
    assert.equal(n.manager.get(sb.sandboxId).state, "running");
  });

  it("a sandbox whose init died is cleaned up and reported killed/error exactly once", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 600_000 });
    const other = await n.manager.create({ templateId: "base", timeoutMs: 600_000 });
    n.runtime.crash(sb.sandboxId);
    await n.clock.advance(5_000);
    await until(() => n.events.some((e) => e.type === "killed"), "killed event");
    await n.clock.advance(20_000);
    const killed = n.events.filter((e) => e.type === "killed");
    assert.equal(killed.length, 1, "reported more than once");
    assert.equal(killed[0]?.sandboxId, sb.sandboxId);
    assert.equal(killed[0]?.reason, "error");
    assert.equal(killed[0]?.sandbox.state, "error");
    assert.deepEqual(
      n.manager.list().map((s) => s.sandboxId),
      [other.sandboxId],
    );
    assert.throws(
      () => n.manager.get(sb.sandboxId),
      (err: unknown) => err instanceof NodeError && err.code === "not_found",
    );
    assert.ok(!n.network.nets.has(sb.sandboxId) && !n.storage.disks.has(sb.sandboxId) && !n.userns.held.has(sb.sandboxId), "its resources were kept");
  });

  it("a paused sandbox is not mistaken for a died one", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 600_000 });
    await n.manager.pause(sb.sandboxId);
    await n.clock.advance(20_000);
    assert.equal(n.manager.get(sb.sandboxId).state, "paused");
    assert.ok(!n.events.some((e) => e.type === "killed"));
  });
});
