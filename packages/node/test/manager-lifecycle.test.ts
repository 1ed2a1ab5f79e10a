// The manager's lifecycle logic on fakes (no root, no sandboxes): the order of events, what a
// create asks of the runtime and envd, and the cleanup of a failed boot.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { settle, until } from "./helpers/fake-clock.js";
import { createFakeNode, type FakeNode } from "./helpers/fake-node.js";

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function started(): Promise<FakeNode> {
  node = createFakeNode();
  await node.manager.start();
  return node;
}

describe("sandbox manager lifecycle (fakes)", () => {
  it("emits created → paused → resumed → killed, with the state after each", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    assert.equal(sb.state, "running");
    assert.equal((await n.manager.pause(sb.sandboxId)).state, "paused");
    assert.equal((await n.manager.resume(sb.sandboxId)).state, "running");
    await n.manager.kill(sb.sandboxId);
    await until(() => n.events.length === 4, "four events");
    assert.deepEqual(
      n.events.map((e) => [e.type, e.reason ?? "", e.sandbox.state]),
      [
        ["created", "", "running"],
        ["paused", "request", "paused"],
        ["resumed", "request", "running"],
        ["killed", "request", "stopped"],
      ],
    );
    assert.ok(n.events.every((e) => e.sandboxId === sb.sandboxId));
    assert.throws(
      () => n.manager.get(sb.sandboxId),
      (err: unknown) => err instanceof NodeError && err.code === "not_found",
    );
  });

  it("creates with the request's limits, internet choice and envd settings, and persists the record", async () => {
    const n = await started();
    const sb = await n.manager.create({
      templateId: "base",
      timeoutMs: 30_000,
      cpuCount: 1,
      memoryMB: 256,
      allowInternetAccess: false,
      envVars: { A: "b" },
      envdAccessToken: "tok",
      metadata: { owner: "t" },
    });
    const spec = n.runtime.specs.get(sb.sandboxId);
    assert.deepEqual(spec?.limits, { cpus: 1, memoryBytes: 256 * 1024 * 1024, pids: 1024, background: false }, "a cold create runs at full CPU weight");
    assert.equal(n.network.nets.get(sb.sandboxId)?.internet, false);
    assert.equal(sb.envdAddress, `${n.network.nets.get(sb.sandboxId)?.sandboxAddress}:49983`);
    assert.deepEqual(n.envd.inits.at(-1)?.body.envVars, { FROM_TEMPLATE: "1", A: "b" });
    assert.equal(n.envd.inits.at(-1)?.body.accessToken, "tok");
    assert.equal(Date.parse(sb.endAt) - n.clock.now(), 30_000);
    assert.equal(n.records.saved.get(sb.sandboxId)?.state, "running");
    assert.deepEqual(sb.metadata, { owner: "t" });
  });

  it("an illegal move is refused and changes nothing", async () => {
    const n = await started();
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    await assert.rejects(n.manager.resume(sb.sandboxId), (err: unknown) => err instanceof NodeError && err.code === "invalid_transition");
    assert.ok(!n.runtime.calls.includes(`resume:${sb.sandboxId}`), "the runtime was asked to resume a running sandbox");
    assert.equal(n.manager.get(sb.sandboxId).state, "running");
  });

  for (const [what, breakIt] of [
    ["the runtime's start", (n: FakeNode) => n.runtime.failNext("start", "init would not start")],
    ["the disk", (n: FakeNode) => n.storage.failNextPrepare("no space")],
    ["the network", (n: FakeNode) => n.network.failNextSetup("no slot")],
  ] as const) {
    it(`a boot failing at ${what} releases everything it made (user namespace, disk, network, container, record)`, async () => {
      const n = await started();
      breakIt(n);
      await assert.rejects(
        n.manager.create({ templateId: "base", timeoutMs: 60_000 }),
        (err: unknown) => err instanceof NodeError && err.code === "runtime_failed",
      );
      await settle();
      assert.equal(n.userns.held.size, 0, "user namespace kept");
      assert.equal(n.storage.disks.size, 0, "disk kept");
      assert.equal(n.network.nets.size, 0, "network kept");
      assert.equal(n.runtime.containers.size, 0, "container kept");
      assert.equal(n.records.saved.size, 0, "record kept");
      assert.deepEqual(n.manager.list(), []);
      assert.deepEqual(n.events, [], "a failed create has no events");
    });
  }

  it("refuses creates once closing", async () => {
    const n = await started();
    await n.manager.close();
    await assert.rejects(n.manager.create({ templateId: "base", timeoutMs: 60_000 }), (err: unknown) => err instanceof NodeError && err.code === "unavailable");
  });
});
