// Restart recovery on fakes: records whose container is alive are adopted (network, disk, user
// namespace, output), the rest destroyed, and containers, directories and host leftovers
// without a record removed.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { SandboxRecord } from "../src/sandbox/records.js";
import { createFakeNode, type FakeNode, fakeHostResources } from "./helpers/fake-node.js";

let node: FakeNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

function record(id: string, state: SandboxRecord["state"], index: number): SandboxRecord {
  return {
    sandboxId: id,
    templateId: "base",
    state,
    cpuCount: 1,
    memoryMB: 256,
    diskMB: 1024,
    startedAt: "2030-01-01T00:00:00.000Z",
    endAt: "2030-01-02T00:00:00.000Z",
    timeoutMs: 86_400_000,
    metadata: { n: id },
    allowInternetAccess: true,
    autoPause: false,
    envdVersion: "0.0.0-fake",
    ...fakeHostResources(id, index),
    userns: { path: `/fake/userns/${id}`, uidBase: 200_000, size: 65_536 },
  };
}

describe("restart recovery (fakes)", () => {
  it("adopts live sandboxes, destroys dead ones and orphans, and reports both", async () => {
    node = createFakeNode();
    const n = node;
    for (const r of [record("alive", "running", 1), record("frozen", "paused", 2), record("dead", "running", 3), record("halfmade", "starting", 4)]) {
      await n.records.save(r);
    }
    n.runtime.containers.set("alive", "running");
    n.runtime.containers.set("frozen", "paused");
    n.runtime.containers.set("halfmade", "created");
    n.runtime.containers.set("norecord", "running");
    n.records.bareDirs.add("nosave");
    n.network.strays.add("leftover");
    n.storage.strays.add("leftover");

    const report = await n.manager.start();

    assert.deepEqual(report.adopted.sort(), ["alive", "frozen"]);
    assert.deepEqual(report.removed.sort(), ["dead", "halfmade", "norecord", "nosave"]);
    assert.deepEqual(
      n.manager
        .list()
        .map((s) => [s.sandboxId, s.state, s.sandboxIp])
        .sort(),
      [
        ["alive", "running", "10.9.1.2"],
        ["frozen", "paused", "10.9.2.2"],
      ],
    );
    assert.deepEqual([...n.runtime.containers.keys()].sort(), ["alive", "frozen"]);
    assert.ok(n.runtime.calls.includes("adopt:alive") && n.runtime.calls.includes("adopt:frozen"), "output not re-adopted");
    assert.deepEqual([...n.network.nets.keys()].sort(), ["alive", "frozen"]);
    assert.deepEqual([...n.storage.disks.keys()].sort(), ["alive", "frozen"]);
    assert.deepEqual([...n.userns.held.keys()].sort(), ["alive", "frozen"]);
    assert.deepEqual([...n.records.saved.keys()].sort(), ["alive", "frozen"]);
    assert.equal(n.records.bareDirs.size, 0);
    assert.equal(n.network.strays.size, 0, "host leftovers kept");
    assert.equal(n.storage.strays.size, 0, "storage leftovers kept");
    assert.deepEqual(n.events, [], "recovery is not an event");
  });

  it("takes the container's state when the record is behind it", async () => {
    node = createFakeNode();
    const n = node;
    await n.records.save(record("lagging", "running", 1));
    n.runtime.containers.set("lagging", "paused");
    await n.manager.start();
    assert.equal(n.manager.get("lagging").state, "paused");
    assert.equal((await n.manager.resume("lagging")).state, "running");
  });

  it("an adopted sandbox can be killed like any other", async () => {
    node = createFakeNode();
    const n = node;
    await n.records.save(record("alive", "running", 1));
    n.runtime.containers.set("alive", "running");
    await n.manager.start();
    await n.manager.kill("alive");
    assert.equal(n.runtime.containers.size, 0);
    assert.equal(n.network.nets.size, 0);
    assert.equal(n.records.saved.size, 0);
  });
});
