// The execution server asks envd in its sandbox whether an /execute's X-Access-Token is the
// sandbox's, and runs code with the sandbox's env vars from envd's GET /envs. envd here is a
// stand-in that answers /envs as Cove's envd does (401 for another token); the real one is
// exercised by the code-interpreter suite against `cove up`.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

async function startStandInEnvd(token: string, envs: Record<string, string>): Promise<{ url: string; calls: number; close(): Promise<void> }> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    state.calls++;
    if (req.url !== "/envs") return void res.writeHead(404).end();
    if (req.headers["x-access-token"] !== token) return void res.writeHead(401).end("invalid access token");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(envs));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return state.calls;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the access token is checked by envd, and code sees the sandbox's env vars", () => {
  let envd: Awaited<ReturnType<typeof startStandInEnvd>>;
  let t: TestInterpreter;
  before(async () => {
    envd = await startStandInEnvd("sandbox-token", { SANDBOX_WIDE: "from-create", SHADOWED: "sandbox" });
    // The SDK is given the sandbox's token; the server itself was started without one.
    t = await startInterpreter({ envdUrl: envd.url, accessToken: "sandbox-token" });
  });
  after(async () => {
    await t?.close();
    await envd?.close();
  });

  it("runs code for the sandbox's token, with the sandbox's env vars under the execution's own", async () => {
    const before = envd.calls;
    const exec = await t.sandbox.runCode("import os; (os.environ.get('SANDBOX_WIDE'), os.environ.get('SHADOWED'))", {
      envs: { SHADOWED: "execution" },
    });
    assert.equal(exec.error, undefined);
    assert.equal(exec.text, "('from-create', 'execution')");
    assert.ok(envd.calls > before, "envd was asked");
    const bash = await t.sandbox.runCode("echo $SANDBOX_WIDE", { language: "bash" });
    assert.deepEqual(bash.logs.stdout, ["from-create\n"]);
  });

  it("another token, or none, is a 401 (envd's verdict)", async () => {
    const tokens: Array<Record<string, string>> = [{ "x-access-token": "not-the-token" }, {}];
    for (const headers of tokens) {
      const res = await fetch(`${t.url}/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ code: "1" }),
      });
      assert.equal(res.status, 401);
      assert.equal(await res.text(), "invalid or missing access token");
    }
  });
});

describe("envd unreachable", () => {
  let t: TestInterpreter;
  before(async () => {
    const envd = await startStandInEnvd("x", {});
    const url = envd.url;
    await envd.close();
    t = await startInterpreter({ envdUrl: url });
  });
  after(async () => {
    await t?.close();
  });

  it("is a 502 naming envd, never code run unchecked", async () => {
    const res = await fetch(`${t.url}/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"code":"1"}' });
    assert.equal(res.status, 502);
    assert.match(await res.text(), /cannot reach envd at http:\/\/127\.0\.0\.1:\d+ to check the access token/);
  });
});
