// Admission under concurrent creates, in process against the fake node: a team never runs
// more sandboxes than its limit, however many creates race, and paused sandboxes do not count.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { startHarness, type Harness } from "./helpers/api-harness.js";

describe("admission (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it("30 concurrent creates with a limit of 5: exactly 5 succeed while the rest get 429 + Retry-After", async () => {
    const { key } = await h.team(5);
    const createsBefore = h.node.calls.createSandbox ?? 0;
    // The node answers no create until the test says so: all 30 are in flight together.
    const gate = h.node.hold("createSandbox");
    let answered = 0;
    const requests = Array.from({ length: 30 }, () =>
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base" }, key }).then((res) => {
        answered++;
        return res;
      }),
    );
    try {
      await gate.reached(5);
      // The 25 beyond the limit are refused while the 5 admitted creates are still at the node.
      for (let i = 0; i < 10_000 && answered < 25; i++) await new Promise((r) => setImmediate(r));
      assert.equal(answered, 25, "the creates beyond the limit are answered while the admitted ones are at the node");
      assert.equal((h.node.calls.createSandbox ?? 0) - createsBefore, 5, "only admitted creates reach the node");
    } finally {
      // Released even when an assertion failed, so the other tests' creates are not held.
      gate.release();
    }
    const results = await Promise.all(requests);

    const created = results.filter((r) => r.statusCode === 201);
    const refused = results.filter((r) => r.statusCode === 429);
    assert.equal(created.length, 5);
    assert.equal(refused.length, 25);
    for (const r of refused) {
      assert.equal(r.headers["retry-after"], "1");
      assert.deepEqual(r.json(), { code: 429, message: "team has reached its limit of 5 concurrent sandboxes", error_code: "rate_limited" });
    }
    const list = await h.request("GET", "/v2/sandboxes", { key });
    assert.equal((list.json() as unknown[]).length, 5);
    assert.equal(list.headers["x-total-running"], "5");
  });

  it("paused sandboxes free their slot; a refused create leaves the count as it was", async () => {
    const { key } = await h.team(3);
    const ids = [await h.create({}, key), await h.create({}, key), await h.create({}, key)];
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key })).statusCode, 429);
    for (const id of ids.slice(0, 2)) assert.equal((await h.request("POST", `/sandboxes/${id}/pause`, { key })).statusCode, 204);

    // Two slots are free: of 10 racing creates, exactly 2 get them.
    const results = await Promise.all(Array.from({ length: 10 }, () => h.request("POST", "/v2/sandboxes", { body: {}, key })));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, ...Array<number>(8).fill(429)]);
    const list = await h.request("GET", "/v2/sandboxes", { key });
    const states = (list.json() as { state: string }[]).map((s) => s.state).sort();
    assert.deepEqual(states, ["paused", "paused", "running", "running", "running"]);
    assert.equal(list.headers["x-total-running"], "3");
  });

  it("a resume needs a free slot too: connect, the deprecated resume and auto-resume by traffic", async () => {
    const { key } = await h.team(2);
    const paused = await h.create({ autoResume: { enabled: true } }, key);
    assert.equal((await h.request("POST", `/sandboxes/${paused}/pause`, { key })).statusCode, 204);
    const others = [await h.create({}, key), await h.create({}, key)];
    // Two running: the paused one cannot come back without going over the limit of 2.
    const message = "team has reached its limit of 2 concurrent sandboxes";
    for (const [url, body] of [
      [`/v2/sandboxes/${paused}/connect`, {}],
      [`/sandboxes/${paused}/resume`, {}],
    ] as const) {
      const res = await h.request("POST", url, { body, key });
      assert.equal(res.statusCode, 429, url);
      assert.equal(res.headers["retry-after"], "1");
      assert.deepEqual(res.json(), { code: 429, message, error_code: "rate_limited" });
    }
    assert.equal(await h.api.service.wake(paused), false, "traffic does not wake it either");
    assert.equal(await h.stateOf(paused), "paused");
    const resumes = h.node.calls.resumeSandbox ?? 0;

    // With a slot free it resumes, and then counts.
    assert.equal((await h.request("DELETE", `/sandboxes/${others[0]}`, { key })).statusCode, 204);
    assert.equal(await h.api.service.wake(paused), true);
    assert.equal(await h.stateOf(paused), "running");
    assert.equal((h.node.calls.resumeSandbox ?? 0) - resumes, 1, "refused resumes never reached the node");
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key })).statusCode, 429);
  });

  it("a create the node fails gives its slot back", async () => {
    const { key } = await h.team(1);
    h.node.failNext("createSandbox", new ConnectError("template 'nope' not found", Code.NotFound));
    const failed = await h.request("POST", "/v2/sandboxes", { body: { templateID: "nope" }, key });
    assert.equal(failed.statusCode, 404);
    assert.deepEqual(failed.json(), { code: 404, message: "template 'nope' not found", error_code: "not_found" });
    // The one slot is free again.
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key })).statusCode, 201);
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key })).statusCode, 429);
  });

  it("a killed sandbox frees its slot; limits are per team", async () => {
    const a = await h.team(1);
    const b = await h.team(1);
    const id = await h.create({}, a.key);
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key: a.key })).statusCode, 429);
    // Another team at its own limit of 1 is unaffected.
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key: b.key })).statusCode, 201);
    assert.equal((await h.request("DELETE", `/sandboxes/${id}`, { key: a.key })).statusCode, 204);
    assert.equal((await h.request("POST", "/v2/sandboxes", { body: {}, key: a.key })).statusCode, 201);
  });
});
