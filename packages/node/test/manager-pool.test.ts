// The warm pool on fakes: it fills to its target, refills after a hand-out, and a claim applies
// the create request to the sandbox it hands out. Sizing (grow, shrink, bounds): manager-pool-sizing.test.ts.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { settle, until } from "./helpers/fake-clock.js";
import { createFakeNode, type FakeNode, fakeManifest } from "./helpers/fake-node.js";

const settings = (min: number) => ({ templates: ["base"], min, max: 8, concurrency: 2, idleMs: 60_000, memoryReserveMB: 0, retryMs: 1000 });

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function withPool(size: number): Promise<FakeNode> {
  node = createFakeNode({ pool: settings(size) });
  await node.manager.start();
  const n = node;
  await until(() => n.manager.poolSize() === size, `pool of ${size}`);
  return n;
}

describe("warm pool (fakes)", () => {
  it("fills to its target, warms each sandbox, and lists none of them", async () => {
    const n = await withPool(2);
    await settle();
    assert.equal(n.manager.poolSize(), 2);
    assert.equal(n.runtime.containers.size, 2, "more or fewer sandboxes than the target were booted");
    assert.equal(n.envd.warmed.length, 2);
    assert.deepEqual(n.manager.list(), []);
    assert.deepEqual(n.events, [], "pool sandboxes have no events");
  });

  it("hands out a pool sandbox and refills to the target", async () => {
    const n = await withPool(2);
    const pooledIds = new Set(n.runtime.containers.keys());
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    assert.ok(pooledIds.has(sb.sandboxId), "create booted a new sandbox instead of taking a pool one");
    await until(() => n.manager.poolSize() === 2, "refill to 2");
    assert.equal(n.runtime.containers.size, 3);
    assert.deepEqual(
      n.manager.list().map((s) => s.sandboxId),
      [sb.sandboxId],
    );
    assert.deepEqual(
      n.events.map((e) => [e.type, e.sandboxId]),
      [["created", sb.sandboxId]],
    );
  });

  it("never hands out a sandbox booted from a build the template no longer points at (a rebuild)", async () => {
    const n = await withPool(1);
    const [stale] = n.runtime.containers.keys();
    await n.templates.write({ ...fakeManifest, builtAt: "2030-01-02T00:00:00.000Z", buildId: "rebuilt" }, ["default"]);
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 60_000 });
    assert.notEqual(sb.sandboxId, stale, "create handed out the old build's pool sandbox");
    await until(() => !n.runtime.containers.has(stale ?? ""), "the stale pool sandbox discarded");
    await until(() => n.manager.poolSize() >= 1, "refill from the new build");
  });

  it("a claim applies the request: limits, internet, envd settings, timeout, metadata", async () => {
    const n = await withPool(1);
    const sb = await n.manager.create({
      templateId: "base",
      timeoutMs: 10_000,
      cpuCount: 1,
      memoryMB: 1024,
      allowInternetAccess: false,
      envVars: { K: "v" },
      envdAccessToken: "secret",
      metadata: { m: "1" },
      autoPause: true,
    });
    assert.equal(n.runtime.specs.get(sb.sandboxId)?.limits?.background, true, "a pool sandbox boots in the background");
    assert.deepEqual(n.runtime.updates, [{ sandboxId: sb.sandboxId, limits: { cpus: 1, background: false, memoryBytes: 1024 * 1024 * 1024 } }]);
    assert.deepEqual(n.network.internetChanges, [{ sandboxId: sb.sandboxId, internet: false }]);
    const init = n.envd.inits.find((i) => i.body.accessToken === "secret");
    assert.deepEqual(init?.body.envVars, { FROM_TEMPLATE: "1", K: "v" });
    assert.equal(sb.cpuCount, 1);
    assert.equal(sb.memoryMB, 1024);
    assert.equal(sb.allowInternetAccess, false);
    assert.equal(sb.autoPause, true);
    assert.deepEqual(sb.metadata, { m: "1" });
    assert.equal(Date.parse(sb.endAt) - n.clock.now(), 10_000);
    const saved = n.records.saved.get(sb.sandboxId);
    assert.equal(saved?.pooled, undefined, "the record still says pooled");
    assert.equal(saved?.cpuCount, 1);
  });

  it("a claim that matches the pool sandbox's settings only restores its CPU weight", async () => {
    const n = await withPool(1);
    const sb = await n.manager.create({ templateId: "base", timeoutMs: 10_000 });
    assert.deepEqual(n.runtime.updates, [{ sandboxId: sb.sandboxId, limits: { cpus: sb.cpuCount, background: false } }]);
    assert.deepEqual(n.network.internetChanges, []);
  });

  it("a pool sandbox that fails to boot is retried after the pause, not in a loop", async () => {
    node = createFakeNode({ pool: settings(1) });
    const n = node;
    n.runtime.failNext("start");
    await n.manager.start();
    await settle();
    assert.equal(n.manager.poolSize(), 0);
    assert.equal(n.runtime.calls.filter((c) => /^start:[^:]+$/.test(c)).length, 1, "retried without waiting");
    assert.equal(n.storage.disks.size, 0, "the failed boot kept its disk");
    await n.clock.advance(1000);
    await until(() => n.manager.poolSize() === 1, "pool refilled after the retry pause");
  });

  it("a pool sandbox that dies is replaced", async () => {
    const n = await withPool(1);
    const [dead] = [...n.runtime.containers.keys()];
    n.runtime.crash(dead!);
    await n.clock.advance(5000);
    await until(() => n.manager.poolSize() === 1 && !n.network.nets.has(dead!), "a new pool sandbox");
    assert.equal(n.events.length, 0, "a pool sandbox's death is nobody's event");
  });
});
