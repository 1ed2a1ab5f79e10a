// `cove node`, `cove api` and `cove proxy` as separate processes, sharing a Postgres server
// (the standalone proxy needs one: PGlite is single-process). Runs when COVE_TEST_DATABASE_URL is set.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Sandbox } from "e2b";
import { createTestDatabase, spawnCove, testTemplatesDir, type Spawned } from "./helpers/cove-up.js";
import { suiteNetwork } from "../../test/support/networks.js";
import { removeDataDir } from "../support/data-dirs.js";

const serverUrl = process.env.COVE_TEST_DATABASE_URL;

describe("cove node + cove api + cove proxy, each its own process", { skip: serverUrl ? false : "COVE_TEST_DATABASE_URL is not set" }, () => {
  let dataDir: string;
  let drop: (() => Promise<void>) | undefined;
  const parts: Spawned[] = [];
  let apiUrl = "";
  let sandboxUrl = "";
  let apiKey = "";

  before(async () => {
    dataDir = mkdtempSync("/tmp/cove-parts-");
    const db = await createTestDatabase(serverUrl!);
    drop = db.drop;
    const env = {
      COVE_TEMPLATES_DIR: testTemplatesDir,
      COVE_NETWORK_PREFIX: suiteNetwork("e2e/parts").prefix,
      COVE_SANDBOX_CIDR: suiteNetwork("e2e/parts").cidr,
      COVE_SANDBOX_DNS: "127.0.0.1",
      COVE_LOG_LEVEL: "warn",
      DATABASE_URL: db.url,
    };
    const node = await spawnCove(
      ["node", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--pool-size", "0", "--kill-on-exit"],
      env,
      /node API on (http:\/\/[0-9.:]+)/,
    );
    parts.push(node);
    const nodeUrl = node.match[1]!;
    const api = await spawnCove(
      ["api", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--node-url", nodeUrl],
      env,
      /export E2B_API_URL=(\S+)\nexport E2B_API_KEY=(\S+)/,
    );
    parts.push(api);
    [apiUrl, apiKey] = [api.match[1]!, api.match[2]!];
    const proxy = await spawnCove(["proxy", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--node-url", nodeUrl], env, /export E2B_SANDBOX_URL=(\S+)/);
    parts.push(proxy);
    sandboxUrl = proxy.match[1]!;
  });

  after(async () => {
    // apiUrl is an internal SDK option; an object (not a literal) passes the type check.
    const conn = { apiKey, apiUrl };
    for (const s of await Sandbox.list(conn)
      .nextItems()
      .catch(() => []))
      await Sandbox.kill(s.sandboxId, conn).catch(() => false);
    // The node last: it kills what is left (--kill-on-exit).
    for (const p of parts.reverse()) await p.stop();
    await drop?.();
    await removeDataDir(dataDir);
  });

  it("serves the SDK: api for the control plane, proxy for sandbox traffic", async () => {
    assert.notEqual(apiUrl, sandboxUrl);
    const conn = { apiKey, apiUrl, sandboxUrl };
    const sbx = await Sandbox.create(conn);
    assert.equal((await sbx.commands.run("echo parts")).stdout, "parts\n");
    await sbx.files.write("/home/user/p.txt", "through the proxy");
    assert.equal(await sbx.files.read("/home/user/p.txt"), "through the proxy");
    // The api alone does not route sandbox traffic; the proxy alone has no control plane.
    const viaApi = await fetch(`${apiUrl}/health`, { headers: { "e2b-sandbox-id": sbx.sandboxId, "e2b-sandbox-port": "49983" } });
    assert.equal(viaApi.status, 200);
    assert.equal(await viaApi.text(), "OK");
    const unknown = await fetch(`${sandboxUrl}/health`, { headers: { "e2b-sandbox-id": "nosuchsandbox", "e2b-sandbox-port": "49983" } });
    assert.equal(unknown.status, 502);
    assert.equal(await sbx.kill(), true);
  });

  it("restarting the api alone loses nothing: the sandbox keeps running and is still the team's", async () => {
    const conn = { apiKey, apiUrl, sandboxUrl };
    const sbx = await Sandbox.create({ ...conn, timeoutMs: 300_000 });
    const bg = await sbx.commands.run("sleep 600", { background: true, timeoutMs: 0 });
    const api = parts[1]!;
    assert.equal(await api.stop(), 0);
    // While the api is down, sandbox traffic still flows through the proxy.
    assert.equal((await sbx.commands.run("echo still")).stdout, "still\n");
    const again = await spawnCove(api.args, api.env, /export E2B_API_URL=(\S+)\nexport E2B_API_KEY=(\S+)/);
    parts[1] = again;
    assert.equal(again.match[2], apiKey, "the same admin key");
    const conn2 = { apiKey, apiUrl: again.match[1]!, sandboxUrl };
    const info = await Sandbox.getInfo(sbx.sandboxId, conn2);
    assert.equal(info.state, "running");
    const back = await Sandbox.connect(sbx.sandboxId, conn2);
    assert.ok((await back.commands.list()).some((p) => p.pid === bg.pid));
    assert.equal(await back.kill(), true);
  });

  it("stops each part cleanly on SIGTERM", async () => {
    for (const p of [...parts].reverse()) assert.equal(await p.stop(), 0, p.output());
  });
});
