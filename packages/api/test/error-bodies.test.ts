// The error bodies E2B's SDK reads (spec 3.1, 3.3): `{code, message}` with the numeric HTTP
// status as `code` (several SDK branches test the body's code, not the status), plus our
// `error_code`. In process against the fake node, which fails on request.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { startHarness, type Harness } from "./helpers/api-harness.js";

describe("E2B error bodies (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  async function expectError(
    res: Promise<{ statusCode: number; headers: Record<string, unknown>; json(): unknown }>,
    status: number,
    message: string,
    errorCode: string,
    retryAfter?: string,
  ) {
    const r = await res;
    assert.equal(r.statusCode, status, message);
    assert.deepEqual(r.json(), { code: status, message, error_code: errorCode });
    assert.equal(r.headers["retry-after"], retryAfter);
  }

  it("400: a field of the wrong type, out of range, or missing", async () => {
    await expectError(
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base", timeout: "soon" } }),
      400,
      "timeout must be an integer from 0 to 2147483",
      "invalid_argument",
    );
    await expectError(
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base", timeout: 3601 } }),
      400,
      "timeout must be at most 3600 seconds",
      "invalid_argument",
    );
    await expectError(h.request("POST", "/v2/sandboxes", { body: { templateID: "" } }), 400, "templateID must not be empty", "invalid_argument");
    const id = await h.create();
    await expectError(h.request("POST", `/sandboxes/${id}/timeout`, { body: {} }), 400, "timeout is required (seconds)", "invalid_argument");
    await expectError(h.request("POST", `/sandboxes/${id}/connect`, { body: {} }), 400, "timeout is required (seconds)", "invalid_argument");
  });

  it("401: no key, a wrong key, a wrong bearer token", async () => {
    await expectError(h.request("GET", "/v2/sandboxes", { key: null }), 401, "missing API key: send X-API-Key or Authorization: Bearer", "unauthenticated");
    await expectError(h.request("GET", "/v2/sandboxes", { key: "e2b_0000000000000000000000000000000000000000" }), 401, "invalid API key", "unauthenticated");
    await expectError(
      h.request("GET", "/v2/sandboxes", { key: null, headers: { authorization: "Bearer sk_nope" } }),
      401,
      "invalid access token",
      "unauthenticated",
    );
  });

  it("404 in the body for every call the SDK maps to SandboxNotFoundError (or kill → false)", async () => {
    const missing = "nosuchsandbox";
    const message = `sandbox '${missing}' not found`;
    await expectError(h.request("GET", `/sandboxes/${missing}`), 404, message, "not_found");
    await expectError(h.request("DELETE", `/sandboxes/${missing}`), 404, message, "not_found");
    await expectError(h.request("POST", `/sandboxes/${missing}/timeout`, { body: { timeout: 30 } }), 404, message, "not_found");
    await expectError(h.request("POST", `/sandboxes/${missing}/pause`, { body: {} }), 404, message, "not_found");
    await expectError(h.request("POST", `/v2/sandboxes/${missing}/connect`, { body: {} }), 404, message, "not_found");
    await expectError(h.request("GET", `/sandboxes/${missing}/metrics`), 404, message, "not_found");
    await expectError(h.request("GET", `/sandboxes/${missing}/logs`), 404, message, "not_found");
    // Another team's sandbox is as unknown as a missing one.
    const other = await h.team(5);
    const theirs = await h.create({}, other.key);
    await expectError(h.request("GET", `/sandboxes/${theirs}`), 404, `sandbox '${theirs}' not found`, "not_found");
    await expectError(h.request("GET", "/templates/aliases/nope"), 404, "template 'nope' not found", "not_found");
    await expectError(h.request("GET", "/nope"), 404, "no route GET /nope", "not_found");
  });

  it("409 in the body: pausing a paused sandbox (SDK pause → false), resuming a running one, a node refusal", async () => {
    const id = await h.create();
    assert.equal((await h.request("POST", `/sandboxes/${id}/pause`, { body: {} })).statusCode, 204);
    await expectError(h.request("POST", `/sandboxes/${id}/pause`, { body: {} }), 409, `sandbox '${id}' is already paused`, "conflict");
    assert.equal((await h.request("POST", `/sandboxes/${id}/resume`, { body: {} })).statusCode, 201);
    await expectError(h.request("POST", `/sandboxes/${id}/resume`, { body: {} }), 409, `sandbox '${id}' is already running`, "conflict");
    h.node.failNext("pauseSandbox", new ConnectError("sandbox is changing state", Code.FailedPrecondition));
    await expectError(h.request("POST", `/sandboxes/${id}/pause`, { body: {} }), 409, "sandbox is changing state", "conflict");
  });

  it("429 with Retry-After: the team's limit, and a node out of capacity", async () => {
    const { key } = await h.team(1);
    await h.create({}, key);
    await expectError(h.request("POST", "/v2/sandboxes", { body: {}, key }), 429, "team has reached its limit of 1 concurrent sandboxes", "rate_limited", "1");
    h.node.failNext("createSandbox", new ConnectError("node is at capacity", Code.ResourceExhausted));
    await expectError(h.request("POST", "/v2/sandboxes", { body: {} }), 429, "node is at capacity", "rate_limited", "1");
  });

  it("500: a failed create names itself; other node failures say only that the node failed; host details never show", async () => {
    h.node.failNext("createSandbox", new ConnectError("crun create --bundle /var/lib/cove/sandboxes/x failed: EPERM", Code.Internal));
    await expectError(h.request("POST", "/v2/sandboxes", { body: {} }), 500, "the node could not start the sandbox", "sandbox_create_failed");
    const id = await h.create();
    h.node.failNext("killSandbox", new ConnectError("crun delete failed: /run/crun/x: EBUSY", Code.Internal));
    await expectError(h.request("DELETE", `/sandboxes/${id}`), 500, "the node failed", "internal");
    // The failed kill left the record alone: the sandbox is still there for a retry.
    assert.equal((await h.request("GET", `/sandboxes/${id}`)).statusCode, 200);
    assert.equal((await h.request("DELETE", `/sandboxes/${id}`)).statusCode, 204);
  });

  it("501: what Cove does not have yet, never silently ignored", async () => {
    const id = await h.create();
    await expectError(
      h.request("PUT", `/sandboxes/${id}/network`, { body: {} }),
      501,
      "changing a sandbox's network rules is not supported by Cove yet",
      "not_implemented",
    );
    await expectError(
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base", network: { denyOut: ["0.0.0.0/0"] } } }),
      501,
      "network.denyOut is not supported by Cove yet",
      "not_implemented",
    );
    await expectError(
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base", volumeMounts: [{ name: "v", path: "/v" }] } }),
      501,
      "volumeMounts is not supported by Cove yet",
      "not_implemented",
    );
    // E2B's filesystem-only pause (lifecycle.onTimeout.keepMemory false, pause({ keepMemory: false })).
    await expectError(
      h.request("POST", "/v2/sandboxes", { body: { templateID: "base", autoPause: true, autoPauseMemory: false } }),
      501,
      "autoPauseMemory: false (a filesystem-only pause) is not supported by Cove yet",
      "not_implemented",
    );
    await expectError(
      h.request("POST", `/sandboxes/${id}/pause`, { body: { memory: false } }),
      501,
      "memory: false (a filesystem-only pause) is not supported by Cove yet",
      "not_implemented",
    );
    // Memory kept, said or not, is the pause Cove takes.
    assert.equal((await h.request("POST", `/sandboxes/${id}/pause`, { body: { memory: true } })).statusCode, 204);
  });

  it("503: the node unavailable", async () => {
    const id = await h.create();
    h.node.failNext("setTimeout", new ConnectError("node is shutting down", Code.Unavailable));
    await expectError(h.request("POST", `/sandboxes/${id}/timeout`, { body: { timeout: 60 } }), 503, "node is shutting down", "unavailable");
    h.node.failNext("createSandbox", new ConnectError("node is shutting down", Code.Unavailable));
    await expectError(h.request("POST", "/v2/sandboxes", { body: {} }), 503, "node is shutting down", "unavailable");
  });

  it("the native API answers the same errors in its own shape", async () => {
    const res = await h.request("GET", "/v1/sandboxes/nosuchsandbox");
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: { code: "not_found", message: "sandbox 'nosuchsandbox' not found" } });
  });
});
