// The official e2b SDK against `cove up`, started as a user would, on PGlite and
// on a real Postgres server: connection, refusals, commands, files, pty, ports.
import assert from "node:assert/strict";
import http from "node:http";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuthenticationError, CommandExitError, Sandbox } from "e2b";
import { describeSdkSuite } from "./helpers/sdk-suite.js";

describeSdkSuite("e2b SDK against cove up", "e2e/sdk", (s) => {
  it("prints the three exports; the URLs answer; a second key is not needed for health", async () => {
    assert.match(s.up.apiKey, /^e2b_[0-9a-f]{40}$/);
    assert.equal(s.up.exports.E2B_SANDBOX_URL, s.up.url);
    const health = await fetch(`${s.up.url}/health`);
    assert.equal(health.status, 200);
    const doc = await fetch(`${s.up.url}/openapi.yaml`);
    assert.equal(doc.status, 200);
    assert.match(await doc.text(), /openapi: /);
    const ui = await fetch(`${s.up.url}/docs`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger-ui-bundle\.js/);
    assert.equal((await fetch(`${s.up.url}/docs/swagger-ui-bundle.js`)).status, 200);
    const templates = (await s.api("/templates")).json() as unknown as { templateID: string }[];
    assert.ok(templates.some((t) => t.templateID === "base"));
  });

  it("refuses a wrong API key with AuthenticationError and a JSON 401", async () => {
    await assert.rejects(s.create({}, "e2b_0000000000000000000000000000000000000000"), AuthenticationError);
    await assert.rejects(Sandbox.list(s.opts("e2b_nope")).nextItems(), AuthenticationError);
    const r = await s.api("/v2/sandboxes", { key: "e2b_nope" });
    assert.equal(r.status, 401);
    assert.equal(r.json().code, 401);
  });

  it("refuses what it cannot honour, clearly: unknown templates, egress rules, volumes, snapshots", async () => {
    await assert.rejects(Sandbox.create("nope", s.opts()), /404: template 'nope' not found/);
    await assert.rejects(s.create({ network: { denyOut: ["0.0.0.0/0"] } }), /501: network\.denyOut is not supported by Cove yet/);
    const snap = await s.api("/snapshots");
    assert.equal(snap.status, 501);
    assert.deepEqual(snap.json(), { code: 501, message: "snapshots is not supported by Cove yet", error_code: "not_implemented" });
    assert.equal((await Sandbox.list(s.opts()).nextItems()).length, 0, "nothing was created on the way");
  });

  it("creates from base and runs commands: output, exit codes, streaming, env, stdin, background and kill", async () => {
    const sbx = await s.create({ envs: { GREETING: "hello" } });
    assert.match(sbx.sandboxId, /^[a-z0-9]+$/);
    const r = await sbx.commands.run('echo "$GREETING from $(id -un)"; echo oops >&2');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, "hello from user\n");
    assert.equal(r.stderr, "oops\n");

    await assert.rejects(sbx.commands.run("exit 7"), (e: unknown) => e instanceof CommandExitError && e.exitCode === 7);

    const chunks: string[] = [];
    await sbx.commands.run("for i in 1 2 3; do echo line$i; sleep 0.3; done", { onStdout: (d) => void chunks.push(d) });
    assert.ok(chunks.length >= 3, `streamed in pieces, got ${JSON.stringify(chunks)}`);
    assert.equal(chunks.join(""), "line1\nline2\nline3\n");

    const cat = await sbx.commands.run("cat", { background: true, stdin: true });
    await sbx.commands.sendStdin(cat.pid, "via stdin\n");
    await sbx.commands.closeStdin(cat.pid);
    const catDone = await cat.wait();
    assert.equal(catDone.stdout, "via stdin\n");

    const sleeper = await sbx.commands.run("sleep 600", { background: true });
    assert.ok((await sbx.commands.list()).some((p) => p.pid === sleeper.pid));
    assert.equal(await sbx.commands.kill(sleeper.pid), true);
    await assert.rejects(sleeper.wait());
    assert.ok(!(await sbx.commands.list()).some((p) => p.pid === sleeper.pid));
    assert.equal(await sbx.kill(), true);
  });

  it("reads and writes files, text and binary, and lists directories", async () => {
    const sbx = await s.create();
    await sbx.files.write("/home/user/dir/a.txt", "alpha");
    const bytes = new Uint8Array(256).map((_, i) => i);
    await sbx.files.write("/home/user/dir/b.bin", bytes.buffer);
    assert.equal(await sbx.files.read("/home/user/dir/a.txt"), "alpha");
    assert.deepEqual(new Uint8Array(await sbx.files.read("/home/user/dir/b.bin", { format: "bytes" })), bytes);
    const names = (await sbx.files.list("/home/user/dir")).map((e) => e.name).sort();
    assert.deepEqual(names, ["a.txt", "b.bin"]);
    assert.equal(await sbx.files.exists("/home/user/dir/none"), false);
    assert.equal((await sbx.commands.run("wc -c < /home/user/dir/b.bin")).stdout.trim(), "256");

    // Signed URLs carry no sandbox id through one gateway URL; the gateway finds it by signature.
    const down = await fetch(await sbx.downloadUrl("/home/user/dir/a.txt"));
    assert.equal(down.status, 200);
    assert.equal(await down.text(), "alpha");
    const form = new FormData();
    form.append("file", new Blob(["via signed url"]), "/home/user/dir/c.txt");
    const upload = await fetch(await sbx.uploadUrl("/home/user/dir/c.txt"), { method: "POST", body: form });
    assert.equal(upload.status, 200);
    assert.equal(await sbx.files.read("/home/user/dir/c.txt"), "via signed url");
    const expiring = await sbx.downloadUrl("/home/user/dir/a.txt", { useSignatureExpiration: 60 });
    assert.equal((await fetch(expiring)).status, 200);
    const forged = new URL(await sbx.downloadUrl("/home/user/dir/a.txt"));
    forged.searchParams.set("path", "/etc/shadow");
    assert.notEqual((await fetch(forged)).status, 200, "a signature does not carry over to another path");
    await sbx.kill();
  });

  it("drives a pty", async () => {
    const sbx = await s.create();
    let seen = "";
    const pty = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => void (seen += Buffer.from(d).toString()) });
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode("echo pty-$((2+3))\n"));
    for (let i = 0; i < 50 && !seen.includes("pty-5"); i++) await sleep(100);
    assert.ok(seen.includes("pty-5"), `pty output: ${JSON.stringify(seen)}`);
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode("exit\n"));
    await pty.wait().catch(() => undefined);
    await sbx.kill();
  });

  it("exposes a port: getHost gives <port>-<id>.localhost:<gateway port>, which the gateway routes", async () => {
    const sbx = await s.create();
    await sbx.files.write("/home/user/www/index.html", "served from the sandbox");
    await sbx.commands.run("cd /home/user/www && python3 -m http.server 8000", { background: true, timeoutMs: 0 });
    const gatewayPort = new URL(s.up.url).port;
    const host = sbx.getHost(8000);
    assert.equal(host, `8000-${sbx.sandboxId}.localhost:${gatewayPort}`);
    // *.localhost is loopback for browsers and curl; Node's resolver may not know it, so send the Host header.
    const get = (h: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port: Number(gatewayPort), path: "/", headers: { host: h } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    let page = await get(host);
    for (let i = 0; i < 50 && page.status !== 200; i++) {
      await sleep(100);
      page = await get(host);
    }
    assert.equal(page.status, 200);
    assert.equal(page.body, "served from the sandbox");
    assert.equal((await get(`8001-${sbx.sandboxId}.localhost:${gatewayPort}`)).status, 502, "nothing listens on 8001");
    await sbx.kill();
    assert.equal((await get(host)).status, 502, "a killed sandbox's port is gone");

    // Not public: its ports want the traffic access token; envd (the SDK's own traffic) does not.
    const priv = await s.create({ network: { allowPublicTraffic: false } });
    assert.match(priv.trafficAccessToken ?? "", /^[0-9a-f]{48}$/);
    assert.equal((await priv.getInfo()).network?.allowPublicTraffic, false);
    await priv.commands.run("python3 -m http.server 8000", { background: true, timeoutMs: 0 });
    const privHost = priv.getHost(8000);
    const getWith = (h: string, token?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port: Number(gatewayPort), path: "/", headers: { host: h, ...(token ? { "e2b-traffic-access-token": token } : {}) } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
    let ok = 0;
    for (let i = 0; i < 50 && ok !== 200; i++) {
      ok = await getWith(privHost, priv.trafficAccessToken);
      if (ok !== 200) await sleep(100);
    }
    assert.equal(ok, 200);
    assert.equal(await getWith(privHost), 403);
    assert.equal(await getWith(privHost, "wrong"), 403);
    await priv.kill();
  });
});
