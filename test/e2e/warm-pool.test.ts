// The warm pool through the official e2b SDK against `cove up`: sequential creates grow the
// pool and are then served from it, pool sandboxes count against no team's limit, and
// `cove pool` shows it all. Observed through the node's pool figures, never through timings.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { RateLimitError, Sandbox } from "e2b";
import { type CoveUp, killLeftovers, repoRoot, startCoveUp } from "./helpers/cove-up.js";
import { suiteNetwork } from "../support/networks.js";
import { removeDataDir } from "../support/data-dirs.js";

// This suite's own network (unique on the machine; see test/support/networks.ts for the others).
const network = suiteNetwork("e2e/warm-pool");
const run = promisify(execFile);

interface PoolFigures {
  max: number;
  pools: Array<{ templateId: string; min: number; target: number; waiting: number; booting: number; handedOut: number; misses: number }>;
}

describe("warm pool through the e2b SDK (cove up)", { timeout: 600_000 }, () => {
  let up: CoveUp;
  let dataDir: string;
  const made: Array<{ id: string; apiKey: string }> = [];
  const opts = (apiKey = up.apiKey) => ({ apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
  const args = ["--pool-size", "1", "--pool-max", "4"];

  const cove = async (...argv: string[]) => (await run(process.execPath, ["packages/cli/bin/cove.js", ...argv], { cwd: repoRoot, env: process.env })).stdout;
  const pool = async () => {
    const figures = JSON.parse(await cove("pool", "--json", "--data-dir", dataDir)) as PoolFigures;
    const base = figures.pools.find((p) => p.templateId === "base");
    assert.ok(base, `no base pool in ${JSON.stringify(figures)}`);
    return base;
  };
  const until = async (what: string, cond: () => Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await cond()) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; pool: ${JSON.stringify(await pool())}`);
  };
  const create = async (apiKey = up.apiKey) => {
    const s = await Sandbox.create({ ...opts(apiKey), timeoutMs: 300_000 });
    made.push({ id: s.sandboxId, apiKey });
    return s;
  };
  const kill = async (s: Sandbox) => {
    await s.kill();
    made.splice(
      made.findIndex((m) => m.id === s.sandboxId),
      1,
    );
  };

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cmw-");
    up = await startCoveUp({ dataDir, ...network, args });
  });

  after(async () => {
    // What the suite made, by id; then the stack, then anything a failure left in the data dir.
    for (const m of made) await Sandbox.kill(m.id, opts(m.apiKey)).catch(() => false);
    const code = await up?.stop();
    if (code !== 0) process.stderr.write(`cove up exited ${code}:\n${up?.stderr()}\n`);
    await killLeftovers({ dataDir, ...network, args });
    await removeDataDir(dataDir);
  });

  it("grows while sequential creates drain it, then serves the next creates from the pool", async () => {
    await until("the pool to fill to its minimum", async () => (await pool()).waiting === 1);
    // Sequential creates, each with its first command, faster than one boot refills the pool.
    for (let i = 0; i < 6; i++) {
      const s = await create();
      assert.equal((await s.commands.run("echo hi")).stdout, "hi\n");
      await kill(s);
    }
    const grown = await pool();
    assert.ok(grown.target > 1, `the pool did not grow: ${JSON.stringify(grown)}`);
    assert.ok(grown.target <= 4, "grew past --pool-max");
    await until("the grown pool to fill", async () => {
      const p = await pool();
      return p.waiting === p.target;
    });
    const before = await pool();
    const batch = [];
    for (let i = 0; i < before.target; i++) {
      const s = await create();
      assert.equal((await s.commands.run("echo hi")).stdout, "hi\n");
      batch.push(s);
    }
    const afterBatch = await pool();
    assert.equal(afterBatch.handedOut - before.handedOut, before.target, "a create was not served from the pool");
    assert.equal(afterBatch.misses, before.misses, "a create booted cold although the pool was full");
    for (const s of batch) await kill(s);
  });

  it("does not count pool sandboxes against a team's limit", async () => {
    const res = await fetch(`${up.url}/v1/teams`, {
      method: "POST",
      headers: { "x-api-key": up.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ name: "cmw-limited", sandboxLimit: 1 }),
    });
    assert.equal(res.status, 201);
    const team = (await res.json()) as { apiKey: string };
    await until("sandboxes waiting in the pool", async () => (await pool()).waiting >= 1);
    // The pool holds sandboxes already; the team's only slot is still free.
    const s = await create(team.apiKey);
    const listed = await Sandbox.list(opts(team.apiKey)).nextItems();
    assert.deepEqual(
      listed.map((x) => x.sandboxId),
      [s.sandboxId],
    );
    await until("the pool to refill", async () => (await pool()).waiting >= 1);
    await assert.rejects(create(team.apiKey), RateLimitError, "the team's second sandbox passed its limit of 1");
    await kill(s);
  });

  it("shows the pool with cove pool", async () => {
    const text = await cove("pool", "--data-dir", dataDir);
    assert.match(text, /^warm pool: at most 4 sandboxes, \d+ booted at once, idle timeout \d+ s/m);
    assert.match(text, /^TEMPLATE\s+MIN\s+TARGET\s+WAITING\s+BOOTING\s+HANDED OUT\s+MISSES$/m);
    assert.match(text, /^base\s+1\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+$/m);
  });
});
