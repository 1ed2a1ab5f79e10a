// Sandbox.create({ mcp }): the SDK starts the MCP gateway itself after the create, so the api
// accepts the option (checking only its shape) and explains a missing `mcp-gateway` template.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { startHarness, type Harness } from "./helpers/api-harness.js";

describe("create with mcp (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  for (const path of ["/v2/sandboxes", "/sandboxes"]) {
    it(`${path}: mcp with a named template creates the sandbox`, async () => {
      const res = await h.request("POST", path, { body: { templateID: "base", mcp: { exa: { apiKey: "k" } }, timeout: 60 } });
      assert.equal(res.statusCode, 201, res.body);
      const id = (res.json() as { sandboxID: string }).sandboxID;
      assert.equal(h.node.sandboxes.get(id)?.templateId, "base");
    });
  }

  it("mcp that is not an object is a 400", async () => {
    for (const mcp of ["servers", 3, [{ a: 1 }]]) {
      const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "base", mcp } });
      assert.equal(res.statusCode, 400, `${JSON.stringify(mcp)}: ${res.body}`);
      assert.match((res.json() as { message: string }).message, /mcp must be an object/);
    }
  });

  it("mcp: null or {} is the same as no mcp", async () => {
    for (const mcp of [null, {}]) {
      const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "base", mcp } });
      assert.equal(res.statusCode, 201, res.body);
    }
  });

  it("the SDK's default mcp-gateway template, missing, is a 404 that says what to do", async () => {
    h.node.failNext("createSandbox", new ConnectError("template 'mcp-gateway' not found (build it with: cove template build mcp-gateway)", Code.NotFound));
    const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "mcp-gateway", mcp: { exa: {} } } });
    assert.equal(res.statusCode, 404, res.body);
    const b = res.json() as { code: number; message: string };
    assert.equal(b.code, 404);
    assert.match(b.message, /template 'mcp-gateway' not found/);
    assert.match(b.message, /Cove ships none/);
    assert.match(b.message, /cove template build/);
  });

  it("another missing template keeps the node's own message", async () => {
    h.node.failNext("createSandbox", new ConnectError("template 'nope' not found (build it with: cove template build nope)", Code.NotFound));
    const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "nope", mcp: { exa: {} } } });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal((res.json() as { message: string }).message, "template 'nope' not found (build it with: cove template build nope)");
  });
});
