import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadNodeConfig, NodeConfigError } from "../src/config.js";

const defaults = { envdRuntimeDir: "/opt/envd" };

describe("node config: sandbox user namespaces", () => {
  it("gives sandboxes their own user namespace unless told off", () => {
    const on = loadNodeConfig({}, {}, defaults);
    assert.equal(on.sandboxUserns, true);
    assert.equal(on.sandboxUidBase, 0x7000_0000);
    assert.equal(loadNodeConfig({}, { COVE_SANDBOX_USERNS: "off" }, defaults).sandboxUserns, false);
    assert.equal(loadNodeConfig({}, { COVE_SANDBOX_UID_BASE: "196608" }, defaults).sandboxUidBase, 196_608);
  });

  it("refuses values it cannot honour", () => {
    assert.throws(() => loadNodeConfig({}, { COVE_SANDBOX_USERNS: "yes" }, defaults), NodeConfigError);
    assert.throws(() => loadNodeConfig({}, { COVE_SANDBOX_UID_BASE: "12" }, defaults), NodeConfigError);
  });
});
