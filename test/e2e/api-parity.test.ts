// E2B API parity through the official e2b SDK against `cove up`: list's startedAfter bound is
// inclusive, metrics are a history (ranges, nothing while paused, kept after a kill, the same
// through the native API and the CLI), and `mcp` on create behaves as E2B's SDK expects.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Sandbox, type SandboxMetrics, type SandboxOpts } from "e2b";
import { type CoveUp, killLeftovers, repoRoot, startCoveUp } from "./helpers/cove-up.js";
import { suiteNetwork } from "../support/networks.js";
import { removeDataDir } from "../support/data-dirs.js";

// This suite's own network (unique on the machine; see test/support/networks.ts for the others).
const network = suiteNetwork("e2e/api-parity");
const run = promisify(execFile);
// Sandboxes and the node's helpers (lxcfs for /proc views) go with the stack.
const args = ["--kill-on-exit"];

describe("E2B API parity through the e2b SDK (cove up)", { timeout: 600_000 }, () => {
  let up: CoveUp;
  let dataDir: string;
  const made: string[] = [];
  const opts = () => ({ apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
  const create = async (extra: SandboxOpts = {}) => {
    const s = await Sandbox.create({ ...opts(), timeoutMs: 300_000, ...extra });
    made.push(s.sandboxId);
    return s;
  };
  /** Polls the SDK's getMetrics until `cond` holds (samples come every 5 s). */
  const metricsUntil = async (what: string, get: () => Promise<SandboxMetrics[]>, cond: (m: SandboxMetrics[]) => boolean) => {
    for (let i = 0; i < 120; i++) {
      const m = await get();
      if (cond(m)) return m;
      await sleep(500);
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cmp-");
    up = await startCoveUp({ dataDir, ...network, args });
  });

  after(async () => {
    // What the suite made, by id (an mcp create may have left one if the SDK's kill failed).
    const suite = await Sandbox.list({ ...opts(), query: { metadata: { suite: "api-parity" } } })
      .nextItems()
      .catch(() => []);
    for (const id of new Set([...made, ...suite.map((s) => s.sandboxId)])) await Sandbox.kill(id, opts()).catch(() => false);
    const code = await up?.stop();
    if (code !== 0) process.stderr.write(`cove up exited ${code}:\n${up?.stderr()}\n`);
    await killLeftovers({ dataDir, ...network, args });
    await removeDataDir(dataDir);
  });

  it("list startedAfter includes a sandbox started exactly at the bound", async () => {
    const run = `sa-${Date.now()}`;
    const s = await create({ metadata: { suite: "api-parity", run } });
    const info = await s.getInfo();
    const listed = await Sandbox.list({ ...opts(), query: { metadata: { run }, startedAfter: info.startedAt } }).nextItems();
    assert.deepEqual(
      listed.map((x) => x.sandboxId),
      [s.sandboxId],
    );
    const later = await Sandbox.list({ ...opts(), query: { metadata: { run }, startedAfter: new Date(info.startedAt.getTime() + 1) } }).nextItems();
    assert.deepEqual(later, []);
    await s.kill();
  });

  it("metrics are a history: ranges, none while paused, kept after a kill, same through /v1 and the CLI", async () => {
    const s = await create({ metadata: { suite: "api-parity" } });
    const start = new Date();
    const first = await metricsUntil(
      "a first sample",
      () => s.getMetrics(),
      (m) => m.length > 0,
    );
    const m0 = first[0];
    assert.ok(m0);
    assert.ok(m0.cpuCount >= 1);
    assert.ok(m0.cpuUsedPct >= 0 && m0.cpuUsedPct <= 100);
    assert.ok(m0.memTotal > 0 && m0.memUsed > 0 && m0.memUsed <= m0.memTotal, JSON.stringify(m0));
    assert.ok(m0.diskTotal > 0 && m0.diskUsed > 0 && m0.diskUsed <= m0.diskTotal, JSON.stringify(m0));
    assert.deepEqual(await s.getMetrics({ start: new Date(start.getTime() - 3600_000), end: new Date(start.getTime() - 1800_000) }), []);

    // A range selects its samples (the SDK sends whole seconds: compare at that precision).
    const all = await metricsUntil(
      "three samples",
      () => s.getMetrics(),
      (m) => m.length >= 3,
    );
    const mid = all[1];
    assert.ok(mid);
    const ranged = await s.getMetrics({ start: mid.timestamp, end: mid.timestamp });
    assert.ok(ranged.length >= 1, "the sample at the bounds is in the range");
    for (const m of ranged) assert.equal(Math.round(m.timestamp.getTime() / 1000), Math.round(mid.timestamp.getTime() / 1000));

    // Paused: no new samples (any sample taken is from before the pause).
    await s.pause();
    const pausedAt = Date.now();
    await sleep(12_000);
    const whilePaused = await s.getMetrics();
    for (const m of whilePaused) assert.ok(m.timestamp.getTime() <= pausedAt, `a sample at ${m.timestamp.toISOString()} while paused`);
    await s.connect({ timeoutMs: 300_000 });
    await metricsUntil(
      "samples again after the resume",
      () => s.getMetrics(),
      (m) => m.some((x) => x.timestamp.getTime() > pausedAt),
    );

    // Killed: the history stays, the same through the SDK, the native API and the CLI.
    await s.kill();
    const kept = await Sandbox.getMetrics(s.sandboxId, opts());
    assert.ok(kept.length >= whilePaused.length + 1, `history after the kill: ${kept.length}`);
    const res = await fetch(`${up.url}/v1/sandboxes/${s.sandboxId}/metrics`, { headers: { "x-api-key": up.apiKey } });
    assert.equal(res.status, 200);
    const native = (await res.json()) as { metrics: { at: string; cpuUsedPct: number; memUsedBytes: number }[] };
    assert.deepEqual(
      native.metrics.map((m) => [m.at, m.cpuUsedPct, m.memUsedBytes]),
      kept.map((m) => [m.timestamp.toISOString(), m.cpuUsedPct, m.memUsed]),
    );
    const cli = await run(process.execPath, ["packages/cli/bin/cove.js", "sandbox", "metrics", s.sandboxId, "--json"], {
      cwd: repoRoot,
      env: { ...process.env, E2B_API_URL: up.url, E2B_API_KEY: up.apiKey },
    });
    const printed = JSON.parse(cli.stdout) as { timestamp: string; cpuUsedPct: number }[];
    assert.deepEqual(
      printed.map((m) => [m.timestamp, m.cpuUsedPct]),
      kept.map((m) => [m.timestamp.toISOString(), m.cpuUsedPct]),
    );
    const table = await run(process.execPath, ["packages/cli/bin/cove.js", "sandbox", "metrics", s.sandboxId], {
      cwd: repoRoot,
      env: { ...process.env, E2B_API_URL: up.url, E2B_API_KEY: up.apiKey },
    });
    assert.match(table.stdout, /^TIME\s+CPU\s+CPU%\s+MEMORY\s+DISK/);
    assert.equal(table.stdout.trim().split("\n").length, kept.length + 1);
  });

  it("mcp: the SDK's gateway start fails on a template without it, and the sandbox is gone", async () => {
    const run = `mcp-${Date.now()}`;
    const metadata = { suite: "api-parity", run };
    await assert.rejects(
      Sandbox.create("base", { ...opts(), timeoutMs: 60_000, metadata, mcp: { exa: { apiKey: "x" } } as never }),
      /Failed to start MCP gateway/,
    );
    const left = await Sandbox.list({ ...opts(), query: { state: ["running"], metadata } }).nextItems();
    assert.deepEqual(left, []);
  });

  it("mcp without a template asks for mcp-gateway, which Cove lacks: a clear not-found", async () => {
    await assert.rejects(Sandbox.create({ ...opts(), timeoutMs: 60_000, mcp: { exa: {} } as never }), /template 'mcp-gateway' not found.*Cove ships none/);
  });
});
