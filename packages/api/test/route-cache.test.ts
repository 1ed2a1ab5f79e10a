// The proxy's route cache, in process against the fake node: routes are reused while nothing
// changes, and every state change (pause, resume, kill, the node's timeout or crash) drops
// them, so the proxy is never handed a stale route.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "./helpers/api-harness.js";

const ENVD = 49983;
const APP = 8080;

describe("route cache (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  const route = (id: string, port: number) => h.api.service.route(id, port);
  const lookups = () => h.node.calls.resolveRoute ?? 0;

  it("serves a new sandbox's envd route from the create and reuses a looked-up route", async () => {
    const id = await h.create();
    const before = lookups();
    assert.deepEqual(await route(id, ENVD), { address: h.node.addressOf(id, ENVD), state: "running" });
    assert.equal(lookups(), before, "the create's answer already said where envd is");
    assert.deepEqual(await route(id, APP), { address: h.node.addressOf(id, APP), state: "running" });
    assert.deepEqual(await route(id, APP), { address: h.node.addressOf(id, APP), state: "running" });
    assert.equal(lookups(), before + 1, "the second lookup came from the cache");
  });

  it("carries the traffic token of a sandbox that refuses public traffic", async () => {
    const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "base", network: { allowPublicTraffic: false } } });
    const { sandboxID, trafficAccessToken } = res.json() as { sandboxID: string; trafficAccessToken: string };
    assert.match(trafficAccessToken, /^[0-9a-f]{48}$/);
    assert.deepEqual(await route(sandboxID, APP), { address: h.node.addressOf(sandboxID, APP), state: "running", trafficAccessToken });
    assert.deepEqual(await route(sandboxID, ENVD), { address: h.node.addressOf(sandboxID, ENVD), state: "running", trafficAccessToken });
  });

  it("pause and resume drop the route: the proxy sees paused, then the resumed sandbox's new address", async () => {
    const id = await h.create();
    const first = await route(id, APP);
    assert.equal(first?.state, "running");
    assert.equal((await h.request("POST", `/sandboxes/${id}/pause`)).statusCode, 204);
    assert.deepEqual(await route(id, APP), { address: h.node.addressOf(id, APP), state: "paused" });
    assert.equal((await h.request("POST", `/v2/sandboxes/${id}/connect`, { body: {} })).statusCode, 201);
    const resumed = await route(id, APP);
    assert.deepEqual(resumed, { address: h.node.addressOf(id, APP), state: "running" });
    assert.notEqual(resumed?.address, first?.address, "the fake node moves a resumed sandbox, so a stale route would show");
    // And the envd route primed at create is gone too.
    assert.deepEqual(await route(id, ENVD), { address: h.node.addressOf(id, ENVD), state: "running" });
  });

  it("a kill through the api drops the route", async () => {
    const id = await h.create();
    assert.equal((await route(id, APP))?.state, "running");
    assert.equal((await route(id, ENVD))?.state, "running");
    assert.equal((await h.request("DELETE", `/sandboxes/${id}`)).statusCode, 204);
    assert.equal(await route(id, APP), undefined);
    assert.equal(await route(id, ENVD), undefined);
  });

  it("the node's timeout kill, crash and auto-pause drop the route (through the event sync)", async () => {
    const killed = await h.create();
    const crashed = await h.create();
    const paused = await h.create({ autoPause: true });
    for (const id of [killed, crashed, paused]) assert.equal((await route(id, APP))?.state, "running");
    h.node.expire(killed);
    h.node.crash(crashed, "init died");
    h.node.expire(paused);
    await h.settle();
    assert.equal(await route(killed, APP), undefined);
    assert.equal(await route(crashed, ENVD), undefined);
    assert.deepEqual(await route(paused, APP), { address: h.node.addressOf(paused, APP), state: "paused" });
  });

  it("a lookup that overlapped a state change is not cached", async () => {
    const id = await h.create();
    // The node says "running", but its answer arrives only after the api paused the sandbox.
    const gate = h.node.hold("resolveRoute", "after");
    let inFlight: ReturnType<typeof route> | undefined;
    try {
      inFlight = route(id, APP);
      await gate.reached(1);
      assert.equal((await h.request("POST", `/sandboxes/${id}/pause`)).statusCode, 204);
    } finally {
      gate.release();
    }
    assert.equal((await inFlight)?.state, "running", "that caller gets what the node said");
    assert.equal((await route(id, APP))?.state, "paused", "the next caller does not get the stale answer");
  });

  it("a sandbox the node lost is no route", async () => {
    const id = await h.create();
    h.node.vanish(id);
    // The primed envd route is the one thing cached; a lookup on another port asks the node.
    assert.equal(await route(id, APP), undefined);
  });
});
