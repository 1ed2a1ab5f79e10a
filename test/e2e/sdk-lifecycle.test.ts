// The official e2b SDK against `cove up`: listing, timeouts, pause and resume,
// auto-pause, teams and their limits.
import assert from "node:assert/strict";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RateLimitError, Sandbox, SandboxNotFoundError } from "e2b";
import { describeSdkSuite } from "./helpers/sdk-suite.js";

describeSdkSuite("e2b SDK against cove up: lifecycle", "e2e/sdk-lifecycle", (s) => {
  it("lists with state and metadata filters, and pages with X-Next-Token", async () => {
    const run = `r${Date.now()}`;
    const made = await Promise.all([0, 1, 2].map((i) => s.create({ metadata: { run, n: String(i), "odd key": "a&b=c" } })));
    const ids = made.map((s) => s.sandboxId).sort();
    const all = await Sandbox.list({ ...s.opts(), query: { metadata: { run } } }).nextItems();
    assert.deepEqual(all.map((s) => s.sandboxId).sort(), ids);
    const one = await Sandbox.list({ ...s.opts(), query: { metadata: { run, n: "1" } } }).nextItems();
    assert.deepEqual(
      one.map((s) => s.sandboxId),
      [made[1]!.sandboxId],
    );
    const odd = await Sandbox.list({ ...s.opts(), query: { metadata: { "odd key": "a&b=c", run } } }).nextItems();
    assert.equal(odd.length, 3);
    assert.deepEqual(odd[0]!.metadata["odd key"], "a&b=c");

    const pager = Sandbox.list({ ...s.opts(), limit: 2, query: { metadata: { run } } });
    const first = await pager.nextItems();
    assert.equal(first.length, 2);
    assert.equal(pager.hasNext, true);
    const second = await pager.nextItems();
    assert.equal(second.length, 1);
    assert.equal(pager.hasNext, false);
    assert.deepEqual([...first, ...second].map((s) => s.sandboxId).sort(), ids);

    await made[0]!.pause();
    const paused = await Sandbox.list({ ...s.opts(), query: { metadata: { run }, state: ["paused"] } }).nextItems();
    assert.deepEqual(
      paused.map((s) => s.sandboxId),
      [made[0]!.sandboxId],
    );
    const running = await Sandbox.list({ ...s.opts(), query: { metadata: { run }, state: ["running"] } }).nextItems();
    assert.equal(running.length, 2);
    for (const s of made) await s.kill();
  });

  it("getInfo reports the sandbox; setTimeout makes it expire, with the reason in its log", async () => {
    const sbx = await s.create({ metadata: { who: "info" }, timeoutMs: 120_000 });
    const info = await sbx.getInfo();
    assert.equal(info.sandboxId, sbx.sandboxId);
    assert.equal(info.templateId, "base");
    assert.equal(info.state, "running");
    assert.deepEqual(info.metadata, { who: "info" });
    const life = info.endAt.getTime() - info.startedAt.getTime();
    assert.ok(life > 100_000 && life <= 121_000, `lifetime ${life} ms`);
    assert.ok(info.cpuCount > 0 && info.memoryMB > 0);
    // The sandbox's own figures (its cgroup), not the host's.
    // Metrics are a history the node samples every 5 s: the first one comes within a tick or two.
    let metrics = await sbx.getMetrics();
    for (let i = 0; i < 60 && metrics.length === 0; i++) {
      await sleep(500);
      metrics = await sbx.getMetrics();
    }
    const [metric] = metrics;
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
    const logs = await s.api(`/sandboxes/${sbx.sandboxId}/logs`);
    assert.equal(logs.status, 200);
    const lines = (logs.json().logs as { line: string }[]).map((l) => l.line);
    assert.deepEqual(lines, ["sandbox created", "sandbox killed (timeout)"]);
  });

  it("pause keeps processes and memory; resume and connect bring them back", async () => {
    const sbx = await s.create();
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

    const back = await Sandbox.connect(sbx.sandboxId, s.opts());
    assert.equal((await back.getInfo()).state, "running");
    const again = await back.commands.connect(proc.pid, { timeoutMs: 0 });
    await back.commands.sendStdin(proc.pid, "x\n");
    for (let i = 0; i < 50 && !again.stdout.includes(secret); i++) await sleep(100);
    assert.equal(again.stdout.trim(), secret, "same process, same memory");
    await back.kill();
    assert.equal(await Sandbox.kill(sbx.sandboxId, s.opts()), false, "a second kill finds nothing");
    await assert.rejects(Sandbox.connect(sbx.sandboxId, s.opts()), SandboxNotFoundError);
  });

  it("auto-pauses at the deadline and auto-resumes on traffic", async () => {
    const sbx = await s.create({ timeoutMs: 3000, lifecycle: { onTimeout: "pause", autoResume: true } });
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
    const lines = ((await s.api(`/sandboxes/${sbx.sandboxId}/logs`)).json().logs as { line: string }[]).map((l) => l.line);
    assert.deepEqual(lines, ["sandbox created", "sandbox paused (timeout)", "sandbox resumed (request) traffic"]);
    await sbx.kill();
  });

  it("keeps teams apart and enforces a team's concurrent-sandbox limit with 429", async () => {
    const made = await s.api("/v1/teams", { method: "POST", body: JSON.stringify({ name: "team-b", sandboxLimit: 2 }) });
    assert.equal(made.status, 201);
    const keyB = made.json().apiKey as string;
    s.keys.push(keyB);
    const a = await s.create({ metadata: { owner: "a" } });

    assert.ok(!(await Sandbox.list(s.opts(keyB)).nextItems()).some((s) => s.sandboxId === a.sandboxId));
    await assert.rejects(Sandbox.getInfo(a.sandboxId, s.opts(keyB)), SandboxNotFoundError);
    await assert.rejects(Sandbox.connect(a.sandboxId, s.opts(keyB)), SandboxNotFoundError);
    assert.equal(await Sandbox.kill(a.sandboxId, s.opts(keyB)), false);
    assert.equal((await s.api(`/v1/sandboxes/${a.sandboxId}`, { key: keyB })).status, 404);
    assert.equal((await s.api(`/v1/sandboxes/${a.sandboxId}/exec`, { key: keyB, method: "POST", body: JSON.stringify({ cmd: "true" }) })).status, 404);
    assert.equal((await a.getInfo()).state, "running", "team B touched nothing");
    // Only the admin team makes teams.
    assert.equal((await s.api("/v1/teams", { key: keyB, method: "POST", body: JSON.stringify({ name: "c" }) })).status, 403);

    const storm = await Promise.allSettled([0, 1, 2, 3, 4].map(() => s.create({ metadata: { storm: "1" } }, keyB)));
    const ok = storm.filter((s) => s.status === "fulfilled");
    const limited = storm.filter((s) => s.status === "rejected" && s.reason instanceof RateLimitError);
    assert.equal(ok.length, 2, JSON.stringify(storm.map((s) => (s.status === "rejected" ? String(s.reason) : "ok"))));
    assert.equal(limited.length, 3);
    const raw = await s.api("/v2/sandboxes", { key: keyB, method: "POST", body: JSON.stringify({ templateID: "base" }) });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get("retry-after"), "1");
    assert.equal(raw.json().code, 429);
    for (const s of ok) await (s as PromiseFulfilledResult<Sandbox>).value.kill();
    // A freed slot can be used again.
    const later = await s.create({}, keyB);
    await later.kill();
    await a.kill();
  });
});
