// The official e2b SDK against `cove up`, started as a user would: once on the
// embedded PGlite, once on a real Postgres server (COVE_TEST_DATABASE_URL).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuthenticationError, CommandExitError, RateLimitError, Sandbox, SandboxNotFoundError, type SandboxOpts } from "e2b";
import { createTestDatabase, killLeftovers, startCoveUp, type CoveUp } from "./helpers/cove-up.js";
import { suiteNetwork } from "../../test/support/networks.js";

const targets: { name: string; serverUrl?: string }[] = [{ name: "pglite" }];
if (process.env.COVE_TEST_DATABASE_URL) targets.push({ name: "postgres", serverUrl: process.env.COVE_TEST_DATABASE_URL });

for (const target of targets) {
  describe(`e2b SDK against cove up (${target.name})`, () => {
    let up: CoveUp;
    let dataDir: string;
    let dropDb: (() => Promise<void>) | undefined;
    let dbArgs: string[] = [];
    const keys: string[] = [];
    // Connection options for the SDK: the printed URLs, never the process env.
    const opts = (apiKey?: string) => ({ apiKey: apiKey ?? up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
    const create = (extra: SandboxOpts = {}, apiKey?: string) => Sandbox.create({ ...opts(apiKey), ...extra });

    async function api(path: string, init: RequestInit & { key?: string } = {}) {
      const res = await fetch(`${up.url}${path}`, {
        ...init,
        headers: {
          "x-api-key": init.key ?? up.apiKey,
          ...(init.body ? { "content-type": "application/json" } : {}),
          ...(init.headers as Record<string, string>),
        },
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
    }

    before(async () => {
      dataDir = mkdtempSync("/tmp/cove-e2e-");
      if (target.serverUrl) {
        const db = await createTestDatabase(target.serverUrl);
        dropDb = db.drop;
        dbArgs = ["--database-url", db.url];
      }
      up = await startCoveUp({ dataDir, ...suiteNetwork("e2e/sdk"), args: dbArgs });
      keys.push(up.apiKey);
    });

    after(async () => {
      // Kill what the suite made, by id, through the API; then stop.
      for (const key of keys) {
        for (const s of await Sandbox.list(opts(key))
          .nextItems()
          .catch(() => []))
          await Sandbox.kill(s.sandboxId, opts(key)).catch(() => false);
      }
      await up?.stop();
      await killLeftovers({ dataDir, ...suiteNetwork("e2e/sdk"), args: dbArgs });
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("prints the three exports; the URLs answer; a second key is not needed for health", async () => {
      assert.match(up.apiKey, /^e2b_[0-9a-f]{40}$/);
      assert.equal(up.exports.E2B_SANDBOX_URL, up.url);
      const health = await fetch(`${up.url}/health`);
      assert.equal(health.status, 200);
      const doc = await fetch(`${up.url}/openapi.yaml`);
      assert.equal(doc.status, 200);
      assert.match(await doc.text(), /openapi: /);
      const ui = await fetch(`${up.url}/docs`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /swagger-ui-bundle\.js/);
      assert.equal((await fetch(`${up.url}/docs/swagger-ui-bundle.js`)).status, 200);
      const templates = (await api("/templates")).json() as unknown as { templateID: string }[];
      assert.ok(templates.some((t) => t.templateID === "base"));
    });

    it("refuses a wrong API key with AuthenticationError and a JSON 401", async () => {
      await assert.rejects(create({}, "e2b_0000000000000000000000000000000000000000"), AuthenticationError);
      await assert.rejects(Sandbox.list(opts("e2b_nope")).nextItems(), AuthenticationError);
      const r = await api("/v2/sandboxes", { key: "e2b_nope" });
      assert.equal(r.status, 401);
      assert.equal(r.json().code, 401);
    });

    it("refuses what it cannot honour, clearly: unknown templates, egress rules, volumes, snapshots", async () => {
      await assert.rejects(Sandbox.create("nope", opts()), /404: template 'nope' not found/);
      await assert.rejects(create({ network: { denyOut: ["0.0.0.0/0"] } }), /501: network\.denyOut is not supported by Cove yet/);
      const snap = await api("/snapshots");
      assert.equal(snap.status, 501);
      assert.deepEqual(snap.json(), { code: 501, message: "snapshots is not supported by Cove yet", error_code: "not_implemented" });
      assert.equal((await Sandbox.list(opts()).nextItems()).length, 0, "nothing was created on the way");
    });

    it("creates from base and runs commands: output, exit codes, streaming, env, stdin, background and kill", async () => {
      const sbx = await create({ envs: { GREETING: "hello" } });
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
      const sbx = await create();
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
      const sbx = await create();
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
      const sbx = await create();
      await sbx.files.write("/home/user/www/index.html", "served from the sandbox");
      await sbx.commands.run("cd /home/user/www && python3 -m http.server 8000", { background: true, timeoutMs: 0 });
      const gatewayPort = new URL(up.url).port;
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
      const priv = await create({ network: { allowPublicTraffic: false } });
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

    it("lists with state and metadata filters, and pages with X-Next-Token", async () => {
      const run = `r${Date.now()}`;
      const made = await Promise.all([0, 1, 2].map((i) => create({ metadata: { run, n: String(i), "odd key": "a&b=c" } })));
      const ids = made.map((s) => s.sandboxId).sort();
      const all = await Sandbox.list({ ...opts(), query: { metadata: { run } } }).nextItems();
      assert.deepEqual(all.map((s) => s.sandboxId).sort(), ids);
      const one = await Sandbox.list({ ...opts(), query: { metadata: { run, n: "1" } } }).nextItems();
      assert.deepEqual(
        one.map((s) => s.sandboxId),
        [made[1]!.sandboxId],
      );
      const odd = await Sandbox.list({ ...opts(), query: { metadata: { "odd key": "a&b=c", run } } }).nextItems();
      assert.equal(odd.length, 3);
      assert.deepEqual(odd[0]!.metadata["odd key"], "a&b=c");

      const pager = Sandbox.list({ ...opts(), limit: 2, query: { metadata: { run } } });
      const first = await pager.nextItems();
      assert.equal(first.length, 2);
      assert.equal(pager.hasNext, true);
      const second = await pager.nextItems();
      assert.equal(second.length, 1);
      assert.equal(pager.hasNext, false);
      assert.deepEqual([...first, ...second].map((s) => s.sandboxId).sort(), ids);

      await made[0]!.pause();
      const paused = await Sandbox.list({ ...opts(), query: { metadata: { run }, state: ["paused"] } }).nextItems();
      assert.deepEqual(
        paused.map((s) => s.sandboxId),
        [made[0]!.sandboxId],
      );
      const running = await Sandbox.list({ ...opts(), query: { metadata: { run }, state: ["running"] } }).nextItems();
      assert.equal(running.length, 2);
      for (const s of made) await s.kill();
    });

    it("getInfo reports the sandbox; setTimeout makes it expire, with the reason in its log", async () => {
      const sbx = await create({ metadata: { who: "info" }, timeoutMs: 120_000 });
      const info = await sbx.getInfo();
      assert.equal(info.sandboxId, sbx.sandboxId);
      assert.equal(info.templateId, "base");
      assert.equal(info.state, "running");
      assert.deepEqual(info.metadata, { who: "info" });
      const life = info.endAt.getTime() - info.startedAt.getTime();
      assert.ok(life > 100_000 && life <= 121_000, `lifetime ${life} ms`);
      assert.ok(info.cpuCount > 0 && info.memoryMB > 0);
      // The sandbox's own figures (its cgroup), not the host's.
      const [metric] = await sbx.getMetrics();
      assert.ok(metric, "one metric sample");
      assert.equal(metric.memTotal, info.memoryMB * 1024 * 1024);
      assert.ok(metric.memUsed > 0 && metric.memUsed < metric.memTotal);
      assert.equal(metric.cpuCount, info.cpuCount);
      assert.ok(metric.diskTotal > 0 && metric.diskTotal <= 2 * 1024 ** 3 + 1e8, `disk ${metric.diskTotal}`);

      await sbx.setTimeout(2000);
      const endAt = (await sbx.getInfo()).endAt.getTime();
      assert.ok(endAt - Date.now() < 3000, "deadline moved to about now + 2 s");
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) {
        await sleep(200);
        gone = await sbx.getInfo().then(
          () => false,
          (e: unknown) => e instanceof SandboxNotFoundError,
        );
      }
      assert.ok(gone, "getInfo is NotFound once the timeout passed");
      const logs = await api(`/sandboxes/${sbx.sandboxId}/logs`);
      assert.equal(logs.status, 200);
      const lines = (logs.json().logs as { line: string }[]).map((l) => l.line);
      assert.deepEqual(lines, ["sandbox created", "sandbox killed (timeout)"]);
    });

    it("pause keeps processes and memory; resume and connect bring them back", async () => {
      const sbx = await create();
      // A secret that exists only in the process's memory, printed on every line of input.
      const proc = await sbx.commands.run('s=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d " \\n"); echo "$s"; while read -r _; do echo "$s"; done', {
        background: true,
        stdin: true,
        timeoutMs: 0,
      });
      for (let i = 0; i < 50 && proc.stdout === ""; i++) await sleep(100);
      const secret = proc.stdout.trim();
      assert.match(secret, /^[0-9a-f]{24}$/);

      await sbx.pause();
      assert.equal((await sbx.getInfo()).state, "paused");
      // Pausing twice is a conflict the SDK reports as false.
      assert.equal(await sbx.pause(), false);

      const back = await Sandbox.connect(sbx.sandboxId, opts());
      assert.equal((await back.getInfo()).state, "running");
      const again = await back.commands.connect(proc.pid, { timeoutMs: 0 });
      await back.commands.sendStdin(proc.pid, "x\n");
      for (let i = 0; i < 50 && !again.stdout.includes(secret); i++) await sleep(100);
      assert.equal(again.stdout.trim(), secret, "same process, same memory");
      await back.kill();
      assert.equal(await Sandbox.kill(sbx.sandboxId, opts()), false, "a second kill finds nothing");
      await assert.rejects(Sandbox.connect(sbx.sandboxId, opts()), SandboxNotFoundError);
    });

    it("auto-pauses at the deadline and auto-resumes on traffic", async () => {
      const sbx = await create({ timeoutMs: 3000, lifecycle: { onTimeout: "pause", autoResume: true } });
      const info = await sbx.getInfo();
      assert.deepEqual(info.lifecycle, { onTimeout: "pause", autoResume: true });
      let state = "running";
      for (let i = 0; i < 100 && state === "running"; i++) {
        await sleep(200);
        state = (await sbx.getInfo()).state;
      }
      assert.equal(state, "paused", "paused (not killed) at its timeout");
      // Plain envd traffic through the gateway wakes it.
      assert.equal((await sbx.commands.run("echo woke")).stdout, "woke\n");
      assert.equal((await sbx.getInfo()).state, "running");
      const lines = ((await api(`/sandboxes/${sbx.sandboxId}/logs`)).json().logs as { line: string }[]).map((l) => l.line);
      assert.deepEqual(lines, ["sandbox created", "sandbox paused (timeout)", "sandbox resumed (request) traffic"]);
      await sbx.kill();
    });

    it("keeps teams apart and enforces a team's concurrent-sandbox limit with 429", async () => {
      const made = await api("/v1/teams", { method: "POST", body: JSON.stringify({ name: "team-b", sandboxLimit: 2 }) });
      assert.equal(made.status, 201);
      const keyB = made.json().apiKey as string;
      keys.push(keyB);
      const a = await create({ metadata: { owner: "a" } });

      assert.ok(!(await Sandbox.list(opts(keyB)).nextItems()).some((s) => s.sandboxId === a.sandboxId));
      await assert.rejects(Sandbox.getInfo(a.sandboxId, opts(keyB)), SandboxNotFoundError);
      await assert.rejects(Sandbox.connect(a.sandboxId, opts(keyB)), SandboxNotFoundError);
      assert.equal(await Sandbox.kill(a.sandboxId, opts(keyB)), false);
      assert.equal((await api(`/v1/sandboxes/${a.sandboxId}`, { key: keyB })).status, 404);
      assert.equal((await api(`/v1/sandboxes/${a.sandboxId}/exec`, { key: keyB, method: "POST", body: JSON.stringify({ cmd: "true" }) })).status, 404);
      assert.equal((await a.getInfo()).state, "running", "team B touched nothing");
      // Only the admin team makes teams.
      assert.equal((await api("/v1/teams", { key: keyB, method: "POST", body: JSON.stringify({ name: "c" }) })).status, 403);

      const storm = await Promise.allSettled([0, 1, 2, 3, 4].map(() => create({ metadata: { storm: "1" } }, keyB)));
      const ok = storm.filter((s) => s.status === "fulfilled");
      const limited = storm.filter((s) => s.status === "rejected" && s.reason instanceof RateLimitError);
      assert.equal(ok.length, 2, JSON.stringify(storm.map((s) => (s.status === "rejected" ? String(s.reason) : "ok"))));
      assert.equal(limited.length, 3);
      const raw = await api("/v2/sandboxes", { key: keyB, method: "POST", body: JSON.stringify({ templateID: "base" }) });
      assert.equal(raw.status, 429);
      assert.equal(raw.headers.get("retry-after"), "1");
      assert.equal(raw.json().code, 429);
      for (const s of ok) await (s as PromiseFulfilledResult<Sandbox>).value.kill();
      // A freed slot can be used again.
      const later = await create({}, keyB);
      await later.kill();
      await a.kill();
    });

    it("serves the native /v1 API for curl users", async () => {
      const created = await api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ template: "base", metadata: { via: "curl" } }) });
      assert.equal(created.status, 201);
      const id = created.json().id as string;
      const exec = await api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "echo out; echo err >&2; exit 3" }) });
      assert.equal(exec.status, 200);
      assert.deepEqual(exec.json(), { exitCode: 3, stdout: "out\n", stderr: "err\n" });
      const bin = await api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "printf '\\xff\\xfe'" }) });
      assert.deepEqual(bin.json(), { exitCode: 0, stdout: "//4=", stdoutEncoding: "base64", stderr: "" });
      const stdin = await api(`/v1/sandboxes/${id}/exec`, { method: "POST", body: JSON.stringify({ cmd: "tr a-z A-Z", stdin: "shout" }) });
      assert.equal(stdin.json().stdout, "SHOUT");

      const put = await fetch(`${up.url}/v1/sandboxes/${id}/files?path=/home/user/up.bin`, {
        method: "PUT",
        headers: { "x-api-key": up.apiKey, "content-type": "application/octet-stream" },
        body: new Uint8Array([0, 1, 2, 255]),
      });
      assert.equal(put.status, 201);
      const get = await fetch(`${up.url}/v1/sandboxes/${id}/files?path=/home/user/up.bin`, { headers: { "x-api-key": up.apiKey } });
      assert.equal(get.status, 200);
      assert.deepEqual(new Uint8Array(await get.arrayBuffer()), new Uint8Array([0, 1, 2, 255]));
      const missing = await api(`/v1/sandboxes/${id}/files?path=/nope`);
      assert.equal(missing.status, 404);
      assert.equal((missing.json().error as { code: string }).code, "not_found");

      // Access tokens are the bearer form; revoked, they stop working.
      const tok = await api("/v1/keys", { method: "POST", body: JSON.stringify({ name: "cli", kind: "access_token" }) });
      assert.equal(tok.status, 201);
      const { id: tokenId, secret } = tok.json() as { id: string; secret: string };
      assert.match(secret, /^sk_e2b_[0-9a-f]{40}$/);
      const bearer = await fetch(`${up.url}/v1/sandboxes/${id}`, { headers: { authorization: `Bearer ${secret}` } });
      assert.equal(bearer.status, 200);
      assert.equal((await api(`/v1/keys/${tokenId}`, { method: "DELETE" })).status, 204);
      assert.equal((await fetch(`${up.url}/v1/sandboxes`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);

      const listed = await api("/v1/sandboxes");
      assert.ok((listed.json().sandboxes as { id: string }[]).some((s) => s.id === id));
      const bad = await api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ timeout: "soon" }) });
      assert.equal(bad.status, 400);
      assert.equal((bad.json().error as { code: string }).code, "invalid_argument");
      const typo = await api("/v1/sandboxes", { method: "POST", body: JSON.stringify({ timout: 60 }) });
      assert.equal(typo.status, 400);
      assert.match((typo.json().error as { message: string }).message, /unknown field 'timout'/);
      const notJson = await api("/v1/sandboxes", { method: "POST", body: "{nope" });
      assert.equal(notJson.status, 400);
      assert.equal((await api(`/v1/sandboxes/${id}`, { method: "DELETE" })).status, 204);
      const gone = await api(`/v1/sandboxes/${id}`);
      assert.equal(gone.status, 404);
      assert.deepEqual(gone.json(), { error: { code: "not_found", message: `sandbox '${id}' not found` } });
    });

    it("streams exec over WebSocket", async () => {
      const sbx = await create();
      const { WebSocket } = await import("ws");
      const ws = new WebSocket(
        `${up.url.replace("http", "ws")}/v1/sandboxes/${sbx.sandboxId}/exec?cmd=${encodeURIComponent("read -r l; echo got-$l; exit 4")}`,
        {
          headers: { "x-api-key": up.apiKey },
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
          const bad = new WebSocket(`${up.url.replace("http", "ws")}${path}`, { headers: { "x-api-key": up.apiKey } });
          bad.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
          bad.on("open", () => reject(new Error(`upgraded: ${path}`)));
          bad.on("error", () => undefined);
        });
      assert.equal(await refused(`/v1/sandboxes/${sbx.sandboxId}/exec?cmd=true`), 404);
      assert.equal(await refused(`/v1/sandboxes/${sbx.sandboxId}/exec`), 400);
    });

    it("a node that dies is restarted; its sandboxes carry on", async () => {
      const sbx = await create({ timeoutMs: 300_000 });
      const bg = await sbx.commands.run("sleep 900", { background: true, timeoutMs: 0 });
      // The node is cove up's only child process (decision 0009); find it by cove up's own pid.
      const children = readFileSync(`/proc/${up.proc.pid}/task/${up.proc.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
      assert.equal(children.length, 1, `children of cove up: ${children.join(",")}`);
      const nodePid = children[0]!;
      process.kill(nodePid, "SIGKILL");
      let again: number[] = [];
      for (let i = 0; i < 100; i++) {
        await sleep(100);
        again = readFileSync(`/proc/${up.proc.pid}/task/${up.proc.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
        if (again.length === 1 && again[0] !== nodePid) break;
      }
      assert.ok(again.length === 1 && again[0] !== nodePid, "a new node was started");
      // The sandbox never depended on the node process; the new node re-adopts it.
      assert.equal((await sbx.commands.run("echo alive")).stdout, "alive\n");
      let info = await sbx.getInfo().catch(() => undefined);
      for (let i = 0; i < 50 && info?.state !== "running"; i++) {
        await sleep(200);
        info = await sbx.getInfo().catch(() => undefined);
      }
      assert.equal(info?.state, "running");
      assert.ok((await sbx.commands.list()).some((p) => p.pid === bg.pid));
      const fresh = await create();
      assert.equal((await fresh.commands.run("echo new")).stdout, "new\n");
      await fresh.kill();
      assert.equal(await sbx.kill(), true);
    });

    it("SIGTERM during creates leaves nothing half-made: every sandbox has a record and every record a sandbox", async () => {
      // Several creates in flight (the pool holds one, the rest boot cold) when the signal comes.
      const creates = [0, 1, 2].map(() =>
        create({ metadata: { phase: "shutdown" } }).then(
          (s) => s.sandboxId,
          () => undefined,
        ),
      );
      await sleep(30);
      const stopped = up;
      assert.equal(await up.stop(), 0, up.stderr());
      const made = (await Promise.all(creates)).filter((id): id is string => id !== undefined);
      console.log(`# ${made.length} of 3 creates answered before the shutdown`);
      up = await startCoveUp({ dataDir, ...suiteNetwork("e2e/sdk"), args: dbArgs });
      await sleep(500);
      const listed = (await Sandbox.list({ ...opts(), query: { metadata: { phase: "shutdown" } } }).nextItems()).map((s) => s.sandboxId).sort();
      // Whatever the API answered with an id exists; nothing exists that it did not answer with.
      const logs = () => `cove up before the restart:\n${stopped.stderr()}\nafter:\n${up.stderr()}`;
      assert.deepEqual(listed, [...made].sort(), logs());
      for (const id of listed) {
        const sbx = await Sandbox.connect(id, opts());
        const ran = await sbx.commands.run("echo ok").catch((err: unknown) => assert.fail(`${id}: ${String(err)}\n${logs()}`));
        assert.equal(ran.stdout, "ok\n");
        await sbx.kill();
      }
      const onNode = readdirSync(`${dataDir}/sandboxes`).filter((d) => !d.startsWith("."));
      assert.ok(
        onNode.every((id) => !listed.includes(id)),
        `killed sandboxes are gone from the node: ${onNode.join(",")}`,
      );
    });

    it("a restart keeps the key, the sandboxes, their files and processes", async () => {
      const sbx = await create({ timeoutMs: 300_000 });
      await sbx.files.write("/home/user/keep.txt", "kept");
      // timeoutMs 0: the default 60 s stream deadline would kill it (envd semantics), restart or not.
      const bg = await sbx.commands.run("sleep 900", { background: true, timeoutMs: 0 });
      const stopping = Date.now();
      const code = await up.stop();
      console.log(`# cove up stopped in ${Date.now() - stopping} ms: ${up.stderr().match(/cove up: stopped.*/)?.[0]}`);
      assert.equal(code, 0, `clean exit on SIGTERM:\n${up.stderr()}`);
      const stopped = up;
      up = await startCoveUp({ dataDir, ...suiteNetwork("e2e/sdk"), args: dbArgs });
      assert.equal(up.apiKey, keys[0], "same key after a restart");
      const back = await Sandbox.connect(sbx.sandboxId, opts()).catch((err: unknown) =>
        assert.fail(`${sbx.sandboxId}: ${String(err)}\ncove up before the restart:\n${stopped.stderr()}\nafter:\n${up.stderr()}`),
      );
      assert.equal((await back.getInfo()).state, "running");
      assert.equal(await back.files.read("/home/user/keep.txt"), "kept");
      assert.ok(
        (await back.commands.list()).some((p) => p.pid === bg.pid),
        "the background process survived",
      );
      assert.equal((await back.commands.run("echo after")).stdout, "after\n");
      await back.kill();
    });
  });
}
