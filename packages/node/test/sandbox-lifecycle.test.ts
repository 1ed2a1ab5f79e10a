// Lifecycle of real crun sandboxes from the base template, driven through the
// node's SandboxService, with the official e2b SDK talking to envd inside.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { backgroundShares, cpuShares, sharesToWeight } from "../src/runtime/container/cgroup-cpu.js";
import type { SandboxEvent, SandboxInfo } from "../src/sandbox/types.js";
import { connectSdk, skipReason, startTestNode, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# sandbox-lifecycle: skipped: ${reason}`);

async function expectNodeError(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    assert.ok(err instanceof NodeError, `expected NodeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return;
  }
  assert.fail(`expected NodeError ${code}`);
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, diagnose: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what} ${diagnose()}`);
    await sleep(50);
  }
}

function envdLog(t: TestNode, id: string): string {
  try {
    return readFileSync(join(t.dataDir, "sandboxes", id, "envd.log"), "utf8").slice(-2000);
  } catch {
    return "(none)";
  }
}

describe("sandbox lifecycle on a real node", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  const events: SandboxEvent[] = [];
  const watch = new AbortController();

  before(async () => {
    t = await startTestNode(suiteNetwork("node/sandbox-lifecycle"));
    void (async () => {
      for await (const e of t.node.manager.events(watch.signal)) events.push(e);
    })();
  });

  after(async () => {
    watch.abort();
    await t?.close();
  });

  const create = (extra: Partial<Parameters<TestNode["node"]["manager"]["create"]>[0]> = {}) =>
    t.node.manager.create({ templateId: "base", timeoutMs: 120_000, ...extra });

  it("creates a sandbox from base; the SDK runs commands, reads and writes files, and drives a PTY", async () => {
    const info = await create({ envVars: { GREETING: "hello" }, metadata: { owner: "test" }, envdAccessToken: "tok-1" });
    const sdk = await connectSdk(info, "tok-1");
    try {
      assert.equal(info.state, "running");
      assert.equal(info.templateId, "base");
      assert.deepEqual(info.metadata, { owner: "test" });
      assert.equal(info.envdVersion, "0.6.13");
      assert.match(info.sandboxId, /^[a-z][a-z0-9]{19}$/);
      assert.ok(t.node.manager.list().some((s) => s.sandboxId === info.sandboxId));
      assert.equal(t.node.manager.get(info.sandboxId).sandboxId, info.sandboxId);

      const r = await sdk.sandbox.commands.run('echo "$GREETING from $(whoami) in $(pwd) on $(hostname)"');
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout.trim(), `hello from user in /home/user on ${info.sandboxId}`);

      await sdk.sandbox.files.write("/home/user/note.txt", "kept");
      assert.equal(await sdk.sandbox.files.read("/home/user/note.txt"), "kept");
      assert.equal((await sdk.sandbox.commands.run("python3 -c 'print(6*7)'")).stdout.trim(), "42");
      assert.match((await sdk.sandbox.commands.run("node -e 'console.log(process.version)'")).stdout, /^v\d+/);

      let output = "";
      const pty = await sdk.sandbox.pty.create({ cols: 80, rows: 24, onData: (d) => void (output += new TextDecoder().decode(d)) });
      await sdk.sandbox.pty.sendInput(pty.pid, new TextEncoder().encode("echo pty-$((40+2))\nexit\n"));
      await pty.wait();
      assert.match(output, /pty-42/);
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
    await expectNodeError(() => t.node.manager.get(info.sandboxId), "not_found");
    assert.ok(!existsSync(`/var/run/netns/ctl-${info.sandboxId}`), "netns removed");
    assert.ok(events.some((e) => e.type === "created" && e.sandboxId === info.sandboxId));
    assert.ok(events.some((e) => e.type === "killed" && e.sandboxId === info.sandboxId && e.reason === "request"));
  });

  it("the access token guards envd: a request without it is refused", async () => {
    const info = await create({ envdAccessToken: "secret-token" });
    try {
      const res = await fetch(`http://${info.envdAddress}/envs`);
      assert.equal(res.status, 401);
      const ok = await fetch(`http://${info.envdAddress}/envs`, { headers: { "X-Access-Token": "secret-token" } });
      assert.equal(ok.status, 200);
    } finally {
      await t.node.manager.kill(info.sandboxId);
    }
  });

  it("pause freezes every process and resume continues them with their memory", async () => {
    const info = await create();
    const sdk = await connectSdk(info);
    try {
      // A process holding a random value in memory and a counter, reporting both to a file.
      // Written by rename so a read never sees a half-written file.
      const script =
        "import os,time\ntoken=os.urandom(8).hex()\ni=0\nwhile True:\n  i+=1\n  open('/tmp/state.new','w').write(f'{token} {i}')\n  os.replace('/tmp/state.new','/tmp/state')\n  time.sleep(0.05)\n";
      await sdk.sandbox.files.write("/tmp/counter.py", script);
      const proc = await sdk.sandbox.commands.run("python3 /tmp/counter.py", { background: true });
      const before = await waitFor(
        "counter",
        async () => {
          const text = await sdk.sandbox.files.read("/tmp/state", { requestTimeoutMs: 5000 }).catch(() => "");
          return text.includes(" ") ? text : undefined;
        },
        45_000,
        () => `counter output: ${proc.stdout} ${proc.stderr}; envd log: ${envdLog(t, info.sandboxId)}`,
      );
      const paused = await t.node.manager.pause(info.sandboxId);
      assert.equal(paused.state, "paused");
      assert.equal(t.node.manager.get(info.sandboxId).state, "paused");
      // While frozen, envd itself does not answer.
      await assert.rejects(fetch(`http://${info.envdAddress}/health`, { signal: AbortSignal.timeout(500) }));
      await expectNodeError(t.node.manager.pause(info.sandboxId), "invalid_transition");

      const resumed = await t.node.manager.resume(info.sandboxId);
      assert.equal(resumed.state, "running");
      const afterText = await waitFor("counter to move", async () => {
        const text = await sdk.sandbox.files.read("/tmp/state");
        return Number(text.split(" ")[1]) > Number(before.split(" ")[1]) ? text : undefined;
      });
      assert.equal(afterText.split(" ")[0], before.split(" ")[0], "the same process kept its memory");
      const procs = await sdk.sandbox.commands.list();
      assert.ok(
        procs.some((p) => p.pid === proc.pid),
        "the process is still alive after resume",
      );
      await expectNodeError(t.node.manager.resume(info.sandboxId), "invalid_transition");
      assert.ok(events.some((e) => e.type === "paused" && e.sandboxId === info.sandboxId && e.reason === "request"));
      assert.ok(events.some((e) => e.type === "resumed" && e.sandboxId === info.sandboxId));
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
  });

  it("a paused sandbox can be killed", async () => {
    const info = await create();
    await t.node.manager.pause(info.sandboxId);
    await t.node.manager.kill(info.sandboxId);
    await expectNodeError(() => t.node.manager.get(info.sandboxId), "not_found");
  });

  it("the reaper kills a sandbox at its timeout, or pauses it when autoPause is set", async () => {
    const killed = await create({ timeoutMs: 1500 });
    const paused = await create({ timeoutMs: 1500, autoPause: true });
    const extended = await create({ timeoutMs: 1500 });
    const updated = await t.node.manager.setTimeout(extended.sandboxId, 60_000);
    assert.ok(Date.parse(updated.endAt) > Date.now() + 50_000);
    try {
      await waitFor("timeout kill", () => events.find((e) => e.type === "killed" && e.sandboxId === killed.sandboxId));
      assert.equal(events.find((e) => e.type === "killed" && e.sandboxId === killed.sandboxId)?.reason, "timeout");
      await waitFor("auto-pause", () => events.find((e) => e.type === "paused" && e.sandboxId === paused.sandboxId));
      assert.equal(t.node.manager.get(paused.sandboxId).state, "paused");
      assert.equal(t.node.manager.get(extended.sandboxId).state, "running", "setTimeout moved the deadline");
      // Resume renews the lifetime, so it is not paused again at once.
      const resumed = await t.node.manager.resume(paused.sandboxId, 60_000);
      assert.ok(Date.parse(resumed.endAt) > Date.now() + 50_000);
    } finally {
      for (const s of [paused, extended]) await t.node.manager.kill(s.sandboxId).catch(() => undefined);
    }
  });

  it("refuses bad requests with clear errors and allocates nothing", async () => {
    const before = t.node.manager.list().length;
    await expectNodeError(create({ templateId: "no-such-template" }), "not_found");
    await expectNodeError(create({ templateId: "../etc" }), "invalid_argument");
    await expectNodeError(create({ cpuCount: 0 }), "invalid_argument");
    await expectNodeError(create({ memoryMB: 1 }), "invalid_argument");
    await expectNodeError(create({ timeoutMs: -5 }), "invalid_argument");
    await expectNodeError(create({ envVars: { "BAD NAME": "x" } }), "invalid_argument");
    await expectNodeError(t.node.manager.kill("nosuchsandbox"), "not_found");
    await expectNodeError(() => t.node.manager.route("nosuchsandbox", 80), "not_found");
    assert.equal(t.node.manager.list().length, before);
  });

  it("applies cpu and memory limits asked for at create", async () => {
    const info: SandboxInfo = await create({ cpuCount: 1, memoryMB: 256 });
    const sdk = await connectSdk(info);
    try {
      assert.equal(info.cpuCount, 1);
      assert.equal(info.memoryMB, 256);
      // cgroup v1 or v2, read from inside: the limit the kernel enforces.
      const r = await sdk.sandbox.commands.run("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes");
      assert.equal(Number(r.stdout.trim()), 256 * 1024 * 1024);
      const route = t.node.manager.route(info.sandboxId, 8080);
      assert.equal(route.address, `${info.sandboxIp}:8080`);
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
  });
});

describe("warm pool", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ ...suiteNetwork("node/sandbox-lifecycle-pool"), poolSize: 1 });
  });
  after(async () => {
    await t?.close();
  });

  it("hands out a pre-started sandbox with the caller's settings and refills", async () => {
    await waitFor("pool to fill", () => (t.node.manager.poolSize() === 1 ? true : undefined), 60_000);
    assert.equal(t.node.manager.list().length, 0, "pooled sandboxes are not listed");
    const info = await t.node.manager.create({
      templateId: "base",
      timeoutMs: 60_000,
      envVars: { FROM_POOL: "yes" },
      memoryMB: 300,
      envdAccessToken: "pool-token",
      allowInternetAccess: false,
    });
    const sdk = await connectSdk(info, "pool-token");
    try {
      assert.equal(info.memoryMB, 300);
      assert.equal(info.allowInternetAccess, false);
      const r = await sdk.sandbox.commands.run("echo $FROM_POOL; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes");
      assert.deepEqual(r.stdout.trim().split("\n"), ["yes", String(300 * 1024 * 1024)]);
      assert.equal((await fetch(`http://${info.envdAddress}/envs`)).status, 401, "the caller's token is in force");
      // It took the only waiting sandbox: the pool grows by one and refills in parallel.
      await waitFor("pool to refill and grow", () => (t.node.manager.poolSize() === 2 ? true : undefined), 60_000);
      const [base] = t.node.manager.poolStats().pools;
      assert.deepEqual(
        { min: base?.min, target: base?.target, waiting: base?.waiting, handedOut: base?.handedOut },
        { min: 1, target: 2, waiting: 2, handedOut: 1 },
      );
      // Booted in the background (low CPU weight), handed out at full weight; seen by the kernel.
      const v2 = t.node.cgroupMode === "v2";
      const cpuDir = join("/sys/fs/cgroup", v2 ? "" : "cpu", t.node.cgroupParent);
      const weight = (id: string) => Number(readFileSync(join(cpuDir, id, v2 ? "cpu.weight" : "cpu.shares"), "utf8"));
      const asKernel = (shares: number) => (v2 ? sharesToWeight(shares) : shares);
      assert.equal(weight(info.sandboxId), asKernel(cpuShares({ cpus: info.cpuCount, background: false })), "the caller's sandbox runs at full weight");
      const waiting = readdirSync(cpuDir, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== info.sandboxId);
      assert.equal(waiting.length, 2, "the two waiting pool sandboxes' cgroups");
      for (const d of waiting) assert.equal(weight(d.name), asKernel(backgroundShares), `${d.name} waits in the pool at a low weight`);
      assert.ok(t.node.manager.poolStats().memoryAvailableMB > 0, "MemAvailable not read");
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
  });

  it("serves the next creates from the grown pool", async () => {
    const made = [];
    try {
      for (let i = 0; i < 2; i++) made.push(await t.node.manager.create({ templateId: "base", timeoutMs: 60_000 }));
      const [base] = t.node.manager.poolStats().pools;
      assert.equal(base?.handedOut, 3);
      assert.equal(base?.misses, 0);
      const sdk = await connectSdk(made[1]!);
      try {
        assert.equal((await sdk.sandbox.commands.run("echo ok")).stdout, "ok\n");
      } finally {
        await sdk.close();
      }
    } finally {
      for (const s of made) await t.node.manager.kill(s.sandboxId);
    }
  });
});

describe("the same lifecycle on runc", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ ...suiteNetwork("node/sandbox-lifecycle-runc"), runtime: "runc" });
  });
  after(async () => {
    await t?.close();
  });

  it("creates, runs a command, pauses, resumes and kills a sandbox with runc", async () => {
    assert.match(t.node.runtime, /^runc /);
    const info = await t.node.manager.create({ templateId: "base", timeoutMs: 60_000 });
    const sdk = await connectSdk(info);
    try {
      assert.equal((await sdk.sandbox.commands.run("hostname")).stdout.trim(), info.sandboxId);
      await t.node.manager.pause(info.sandboxId);
      await t.node.manager.resume(info.sandboxId);
      assert.equal((await sdk.sandbox.commands.run("echo back")).stdout.trim(), "back");
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
    assert.equal((await t.node.sandboxRuntime.list()).length, 0);
  });
});
