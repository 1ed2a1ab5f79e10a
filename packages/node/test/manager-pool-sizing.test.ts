// The warm pool's sizing on fakes: parallel refills bounded by the concurrency, growth while
// creates drain the pool faster than boots refill it, the node-wide maximum, the memory bound,
// shrinking after an idle spell, and one pool per template (configured or made on demand).
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Logger } from "../src/sandbox/logger.js";
import type { WarmPoolSettings } from "../src/sandbox/pool.js";
import type { SandboxRecord } from "../src/sandbox/records.js";
import { settle, until } from "./helpers/fake-clock.js";
import { createFakeNode, type FakeNode, fakeHostResources } from "./helpers/fake-node.js";
import { createGate } from "./helpers/gate.js";

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

const base: WarmPoolSettings = { templates: ["base"], min: 1, max: 6, concurrency: 2, idleMs: 60_000, memoryReserveMB: 1024, retryMs: 1000, tickMs: 1000 };

/** A node whose pool settings, MemAvailable and log lines the test controls. */
async function start(pool: Partial<WarmPoolSettings> = {}, memory = { mb: 8192 }) {
  const lines: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const record = (obj: object, msg?: string) => void lines.push({ msg: msg ?? "", obj: obj as Record<string, unknown> });
  const logger: Logger = { debug() {}, info: record, warn: record, error: record };
  node = createFakeNode({ pool: { ...base, ...pool }, memory: { availableMB: () => memory.mb }, logger });
  await node.manager.start();
  await settle();
  return { n: node, lines, memory };
}

const stats = (n: FakeNode, templateId = "base") => n.manager.poolStats().pools.find((p) => p.templateId === templateId);
/** Boots started (runtime start) and not yet finished. */
const startsInFlight = (n: FakeNode) =>
  n.runtime.calls.filter((c) => /^start:[^:]+$/.test(c)).length - n.runtime.calls.filter((c) => /^start:[^:]+:done$/.test(c)).length;
const create = (n: FakeNode, templateId = "base") => n.manager.create({ templateId, timeoutMs: 600_000 });

describe("warm pool sizing (fakes)", () => {
  it("refills in parallel, never more boots at once than the concurrency", async () => {
    const gate = createGate();
    node = createFakeNode({ pool: { ...base, min: 5, max: 8 }, memory: { availableMB: () => 8192 } });
    const n = node;
    n.runtime.holdAll("start", gate);
    await n.manager.start();
    await settle();
    assert.equal(startsInFlight(n), 2, "boots in flight");
    assert.equal(stats(n)?.booting, 2);
    gate.open();
    await until(() => n.manager.poolSize() === 5, "pool of 5");
    await settle();
    assert.equal(n.runtime.containers.size, 5, "booted past the target");
  });

  it("grows while creates drain it faster than refills, up to the maximum, and serves from the grown pool", async () => {
    const { n, lines } = await start({ min: 1, max: 4 });
    assert.equal(n.manager.poolSize(), 1);
    const gate = createGate();
    n.runtime.holdAll("start", gate);
    await create(n); // takes the only one: drained
    assert.equal(stats(n)?.target, 2);
    assert.equal(stats(n)?.handedOut, 1);
    const gate2 = createGate();
    n.runtime.holdAll("start", gate2);
    const second = create(n); // nothing waiting: a miss, booted cold
    await settle();
    assert.equal(stats(n)?.misses, 1);
    assert.equal(stats(n)?.target, 4, "a miss grows by two, capped at the maximum");
    gate.open();
    gate2.open();
    await second;
    await until(() => n.manager.poolSize() === 4, "the grown pool filled");
    await settle();
    assert.equal(
      n.manager.poolStats().pools.reduce((sum, p) => sum + p.waiting + p.booting, 0),
      4,
      "more pool sandboxes than the maximum",
    );
    // The next creates are served from the pool, not booted.
    const before = n.runtime.containers.size;
    await create(n);
    assert.equal(stats(n)?.handedOut, 2);
    await until(() => n.manager.poolSize() === 4, "refilled");
    assert.equal(n.runtime.containers.size, before + 1, "only the refill booted");
    assert.ok(lines.some((l) => l.msg === "warm pool grew" && l.obj.reason === "miss" && l.obj.target === 4));
  });

  it("never grows past the node-wide maximum, however many creates miss", async () => {
    const { n } = await start({ min: 0, max: 3, templates: ["base"] });
    for (let i = 0; i < 6; i++) await create(n);
    await until(() => n.manager.poolSize() === 3, "pool at the maximum");
    await settle();
    assert.equal(stats(n)?.target, 3);
    assert.equal(n.manager.poolSize(), 3);
  });

  it("does not boot or grow while MemAvailable is below the reserve, fills once it recovers, and shrinks under pressure", async () => {
    const { n, lines, memory } = await start({ min: 2, max: 6 }, { mb: 512 });
    assert.equal(n.runtime.containers.size, 0, "booted into memory pressure");
    await create(n); // a miss: served cold, the pool does not grow
    assert.equal(stats(n)?.target, 2);
    memory.mb = 8192;
    await n.clock.advance(1000);
    await until(() => n.manager.poolSize() === 2, "filled after memory came back");
    await create(n);
    await create(n);
    await until(() => n.manager.poolSize() === stats(n)?.target, "grown pool filled");
    assert.ok((stats(n)?.target ?? 0) > 2);
    memory.mb = 512;
    await n.clock.advance(1000);
    await until(() => n.manager.poolSize() === 2, "shrunk to the minimum");
    assert.equal(stats(n)?.target, 2);
    assert.ok(lines.some((l) => l.msg === "warm pool shrank" && l.obj.reason === "memory"));
  });

  it("shrinks back to its minimum after the idle timeout and destroys the extra sandboxes", async () => {
    const { n, lines } = await start({ min: 1, max: 6, idleMs: 30_000 });
    await create(n);
    await create(n);
    await until(() => (stats(n)?.target ?? 0) > 1 && n.manager.poolSize() === stats(n)?.target, "grown pool filled");
    const grown = n.manager.poolSize();
    await n.clock.advance(29_000);
    assert.equal(n.manager.poolSize(), grown, "shrank before the idle timeout");
    await n.clock.advance(2000);
    await until(() => n.manager.poolSize() === 1, "back to the minimum");
    await settle();
    assert.equal(n.runtime.containers.size, 1 + 2, "extra pool sandboxes were not destroyed (2 handed out, 1 waiting)");
    assert.ok(lines.some((l) => l.msg === "warm pool shrank" && l.obj.reason === "idle" && l.obj.target === 1));
  });

  it("keeps one pool per template: another template gets a pool on demand, served after growth, gone when idle", async () => {
    const { n } = await start({ min: 1, max: 6, idleMs: 30_000 });
    const cold = await create(n, "other"); // first create of a template without a pool: a miss
    assert.equal(cold.templateId, "other");
    assert.equal(stats(n, "other")?.min, 0);
    assert.equal(stats(n, "other")?.target, 2);
    await until(() => stats(n, "other")?.waiting === 2, "on-demand pool filled");
    const warm = await create(n, "other");
    assert.equal(warm.templateId, "other");
    assert.equal(stats(n, "other")?.handedOut, 1);
    assert.equal(stats(n)?.waiting, 1, "the base pool was touched");
    await n.clock.advance(31_000);
    await until(() => stats(n, "other") === undefined, "idle on-demand pool removed");
    assert.equal(stats(n)?.waiting, 1, "the configured pool keeps its minimum");
  });

  it("discards re-adopted pool sandboxes beyond the pool's size, and those of a template without a pool", async () => {
    node = createFakeNode({ pool: { ...base, min: 1 }, memory: { availableMB: () => 8192 } });
    const n = node;
    const pooled = (id: string, templateId: string, index: number): SandboxRecord => ({
      sandboxId: id,
      templateId,
      state: "running",
      cpuCount: 2,
      memoryMB: 512,
      diskMB: 2048,
      startedAt: "2030-01-01T00:00:00.000Z",
      endAt: "2030-01-01T00:05:00.000Z",
      timeoutMs: 300_000,
      metadata: {},
      allowInternetAccess: true,
      autoPause: false,
      envdVersion: "0.0.0-fake",
      pooled: true,
      ...fakeHostResources(id, index),
    });
    for (const r of [pooled("b1", "base", 1), pooled("b2", "base", 2), pooled("b3", "base", 3), pooled("o1", "other", 4)]) {
      await n.records.save(r);
      n.runtime.containers.set(r.sandboxId, "running");
    }
    await n.manager.start();
    await n.clock.advance(1000);
    await until(() => n.manager.poolSize() === 1, "trimmed to the pool size");
    await n.clock.advance(1000);
    await settle();
    assert.equal(n.runtime.containers.size, 1, `left: ${[...n.runtime.containers.keys()].join(",")}`);
    assert.equal(stats(n, "other"), undefined);
  });

  it("with a maximum of 0 there is no pool at all: creates boot, nothing waits", async () => {
    const { n } = await start({ min: 0, max: 0 });
    await create(n);
    await create(n);
    await settle();
    assert.equal(n.runtime.containers.size, 2);
    assert.deepEqual(n.manager.poolStats().pools, []);
    assert.equal(n.manager.poolStats().max, 0);
  });
});
