// The event log, in process against the fake node: whoever causes a change writes its event
// once. The node echoes every change on WatchEvents, including the ones the api asked for;
// those echoes must not become second events, while changes the node makes itself must land.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "./helpers/api-harness.js";

const created = { type: "created", reason: null, message: null };

describe("event de-duplication (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it("the api's kill and the node's killed echo are one event", async () => {
    const id = await h.create();
    assert.equal((await h.request("DELETE", `/sandboxes/${id}`)).statusCode, 204);
    await h.settle();
    assert.deepEqual(await h.events(id), [created, { type: "killed", reason: "request", message: null }]);
  });

  it("also when the echo is applied before the api's kill returns", async () => {
    const id = await h.create();
    const gate = h.node.hold("killSandbox", "after");
    let res: ReturnType<Harness["request"]> | undefined;
    try {
      res = h.request("DELETE", `/sandboxes/${id}`);
      await gate.reached(1);
      // The node has killed it and published the event; the api is still waiting for the answer.
      await h.settle();
    } finally {
      gate.release();
    }
    assert.equal((await res)?.statusCode, 204);
    await h.settle();
    assert.deepEqual(await h.events(id), [created, { type: "killed", reason: "request", message: null }]);
  });

  it("a pause and a resume through the api are one event each, even when the echo comes first", async () => {
    const id = await h.create();
    for (const [method, phase] of [
      ["pauseSandbox", `/sandboxes/${id}/pause`],
      ["resumeSandbox", `/v2/sandboxes/${id}/connect`],
    ] as const) {
      const gate = h.node.hold(method, "after");
      let res: ReturnType<Harness["request"]> | undefined;
      try {
        res = h.request("POST", phase, { body: {} });
        await gate.reached(1);
        await h.settle();
      } finally {
        gate.release();
      }
      assert.ok([201, 204].includes((await res)?.statusCode ?? 0));
      await h.settle();
    }
    assert.deepEqual(await h.events(id), [
      created,
      { type: "paused", reason: "request", message: null },
      { type: "resumed", reason: "request", message: "connect" },
    ]);
  });

  it("a timeout kill by the node is one event with reason timeout, and the sandbox is gone for callers", async () => {
    const id = await h.create();
    h.node.expire(id);
    await h.settle();
    assert.deepEqual(await h.events(id), [created, { type: "killed", reason: "timeout", message: null }]);
    const res = await h.request("GET", `/sandboxes/${id}`);
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { code: 404, message: `sandbox '${id}' not found`, error_code: "not_found" });
    assert.ok(!(await h.request("GET", "/v2/sandboxes")).json<{ sandboxID: string }[]>().some((s) => s.sandboxID === id));
    // A kill arriving after the timeout is the SDK's "already gone": body code 404, no new event.
    assert.equal((await h.request("DELETE", `/sandboxes/${id}`)).json<{ code: number }>().code, 404);
    const logs = await h.request("GET", `/sandboxes/${id}/logs`);
    assert.deepEqual(
      (logs.json() as { logs: { line: string }[] }).logs.map((l) => l.line),
      ["sandbox created", "sandbox killed (timeout)"],
    );
  });

  it("an auto-pause at timeout, a crash and a pause/resume made on the node are recorded once each", async () => {
    const paused = await h.create({ autoPause: true });
    const crashed = await h.create();
    const toggled = await h.create();
    h.node.expire(paused);
    h.node.crash(crashed, "the sandbox's init exited");
    h.node.pauseByNode(toggled);
    h.node.resumeByNode(toggled);
    await h.settle();
    assert.deepEqual(await h.events(paused), [created, { type: "paused", reason: "timeout", message: null }]);
    assert.equal((await h.request("GET", `/sandboxes/${paused}`)).json<{ state: string }>().state, "paused");
    assert.deepEqual(await h.events(crashed), [created, { type: "killed", reason: "error", message: "the sandbox's init exited" }]);
    assert.deepEqual(await h.events(toggled), [
      created,
      { type: "paused", reason: "request", message: null },
      { type: "resumed", reason: "request", message: null },
    ]);
    assert.equal(await h.stateOf(toggled), "running");
  });

  it("a sandbox the node lost: the next call is a 404 and closes the record with one error event", async () => {
    const id = await h.create();
    h.node.vanish(id);
    const res = await h.request("POST", `/sandboxes/${id}/pause`, { body: {} });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { code: 404, message: `sandbox '${id}' not found`, error_code: "not_found" });
    assert.equal(await h.stateOf(id), "killed");
    // The reconciler finds nothing more to do about it.
    assert.deepEqual((await h.api.sync.reconcile()).lost, []);
    assert.deepEqual(await h.events(id), [created, { type: "killed", reason: "error", message: "the node no longer has this sandbox" }]);
  });

  it("the reconciler closes a record the node lost without telling, once", async () => {
    const id = await h.create();
    h.node.vanish(id);
    assert.deepEqual((await h.api.sync.reconcile()).lost, [id]);
    assert.deepEqual((await h.api.sync.reconcile()).lost, []);
    assert.deepEqual(await h.events(id), [created, { type: "killed", reason: "error", message: "the node no longer has this sandbox" }]);
  });
});
