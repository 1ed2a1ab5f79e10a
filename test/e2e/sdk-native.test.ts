// `cove up`'s native /v1 API, as curl users and WebSocket clients use it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { describeSdkSuite } from "./helpers/sdk-suite.js";

describeSdkSuite("cove up's native API", "e2e/sdk-native", (s) => {
  it("serves the native /v1 API for curl users", async () => {
    const created = await s.api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ template: "base", metadata: { via: "curl" } }) });
    assert.equal(created.status, 201);
    const id = created.json().id as string;
    const exec = await s.api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "echo out; echo err >&2; exit 3" }) });
    assert.equal(exec.status, 200);
    assert.deepEqual(exec.json(), { exitCode: 3, stdout: "out\n", stderr: "err\n" });
    const bin = await s.api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "printf '\\xff\\xfe'" }) });
    assert.deepEqual(bin.json(), { exitCode: 0, stdout: "//4=", stdoutEncoding: "base64", stderr: "" });
    const stdin = await s.api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "tr a-z A-Z", stdin: "shout" }) });
    assert.equal(stdin.json().stdout, "SHOUT");

    const put = await fetch(`${s.up.url}/v1/sandboxes/${id}/files?path=/home/user/up.bin`, {
      method: "PUT",
      headers: { "x-api-key": s.up.apiKey, "content-type": "application/octet-stream" },
      body: new Uint8Array([0, 1, 2, 255]),
    });
    assert.equal(put.status, 201);
    const get = await fetch(`${s.up.url}/v1/sandboxes/${id}/files?path=/home/user/up.bin`, { headers: { "x-api-key": s.up.apiKey } });
    assert.equal(get.status, 200);
    assert.deepEqual(new Uint8Array(await get.arrayBuffer()), new Uint8Array([0, 1, 2, 255]));
    const missing = await s.api(`/v1/sandboxes/${id}/files?path=/nope`);
    assert.equal(missing.status, 404);
    assert.equal((missing.json().error as { code: string }).code, "not_found");

    // Access tokens are the bearer form; revoked, they stop working.
    const tok = await s.api("/v1/keys", { method: "POST", body: JSON.stringify({ name: "cli", kind: "access_token" }) });
    assert.equal(tok.status, 201);
    const { id: tokenId, secret } = tok.json() as { id: string; secret: string };
    assert.match(secret, /^sk_e2b_[0-9a-f]{40}$/);
    const bearer = await fetch(`${s.up.url}/v1/sandboxes/${id}`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(bearer.status, 200);
    assert.equal((await s.api(`/v1/keys/${tokenId}`, { method: "DELETE" })).status, 204);
    assert.equal((await fetch(`${s.up.url}/v1/sandboxes`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);

    const listed = await s.api("/v1/sandboxes");
    assert.ok((listed.json().sandboxes as { id: string }[]).some((s) => s.id === id));
    const bad = await s.api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ timeout: "soon" }) });
    assert.equal(bad.status, 400);
    assert.equal((bad.json().error as { code: string }).code, "invalid_argument");
    const typo = await s.api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ timout: 60 }) });
    assert.equal(typo.status, 400);
    assert.match((typo.json().error as { message: string }).message, /unknown field 'timout'/);
    const notJson = await s.api("/v1/sandboxes", { method: "POST", body: "{nope" });
    assert.equal(notJson.status, 400);
    assert.equal((await s.api(`/v1/sandboxes/${id}`, { method: "DELETE" })).status, 204);
    const gone = await s.api(`/v1/sandboxes/${id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json(), { error: { code: "not_found", message: `sandbox '${id}' not found` } });
  });

  it("streams exec over WebSocket", async () => {
    const sbx = await s.create();
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(
      `${s.up.url.replace("http", "ws")}/v1/sandboxes/${sbx.sandboxId}/exec?cmd=${encodeURIComponent("read -r l; echo got-$l; exit 4")}`,
      {
        headers: { "x-api-key": s.up.apiKey },
      },
    );
    const messages: { type: string; data?: string; exitCode?: number; pid?: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (raw) => {
        const m = JSON.parse(String(raw)) as (typeof messages)[number];
        messages.push(m);
        if (m.type === "start") ws.send(JSON.stringify({ type: "stdin", data: Buffer.from("ws\n").toString("base64") }));
      });
      ws.on("close", () => resolve());
      ws.on("error", reject);
    });
    assert.equal(messages[0]?.type, "start");
    const out = messages
      .filter((m) => m.type === "stdout")
      .map((m) => Buffer.from(m.data!, "base64").toString())
      .join("");
    assert.equal(out, "got-ws\n");
    assert.deepEqual(messages.at(-1), { type: "exit", exitCode: 4 });
    await sbx.kill();

    // Failures before the upgrade are plain HTTP answers: unknown sandbox, missing cmd.
    const refused = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const bad = new WebSocket(`${s.up.url.replace("http", "ws")}${path}`, { headers: { "x-api-key": s.up.apiKey } });
        bad.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        bad.on("open", () => reject(new Error(`upgraded: ${path}`)));
        bad.on("error", () => undefined);
      });
    assert.equal(await refused(`/v1/sandboxes/${sbx.sandboxId}/exec?cmd=true`), 404);
    assert.equal(await refused(`/v1/sandboxes/${sbx.sandboxId}/exec`), 400);
  });
});
