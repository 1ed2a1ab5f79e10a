// `npm run bench -- code-interpreter [--runs N]`
//
// @e2b/code-interpreter against `cove up` with a warm pool of code-interpreter-v1 (built, or
// reused, by `cove template build code-interpreter` first). In the same run:
//   - create + runCode('1+1'), sequentially, each create finding the pool refilled; baseline:
//     the e2b SDK's create of base + commands.run('true') from base's pool;
//   - runCode('1+1') on a warm context; baseline: commands.run('true') in the same sandbox
//     (the same gateway and proxy, envd instead of the execution server);
//   - a matplotlib line chart (the figure rendered to PNG and extracted as a chart);
//   - the PSS of an idle code-interpreter sandbox (envd, the server, a python kernel) against
//     an idle base sandbox.
// Run as root.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Sandbox as CodeSandbox } from "@e2b/code-interpreter";
import { Sandbox } from "e2b";
import { startUp, type Up } from "./e2e.js";
import { pidsInCgroupsNamed, sumMemory } from "./lib/cgroup-memory.js";
import { fmt, line, median, percentile, positive } from "./lib/stats.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A code-interpreter pool member boots envd, the server and a python kernel: give it time to refill. */
const POOL_SETTLE_MS = 3_000;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: "string", default: "20" } } });
  const runs = positive("--runs", values.runs);
  if (process.getuid?.() !== 0) throw new Error("the code-interpreter bench must run as root (it starts a node)");
  execFileSync(process.execPath, [join(repo, "packages/cli/bin/cove.js"), "template", "build", "code-interpreter", "--data-dir", "/var/tmp/cove-test"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const work = mkdtempSync("/var/tmp/cove-bench-ci-");
  let up: Up | undefined;
  try {
    up = await startUp(join(work, "data"), 1, undefined, [], { COVE_POOL_TEMPLATE: "base,code-interpreter-v1" });
    const opts = { apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 };
    await sleep(POOL_SETTLE_MS * 2);

    const firstRun: number[] = [];
    const baseFirst: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [ms, sbx] = await timed(async () => {
        const s = await CodeSandbox.create(opts);
        const r = await s.runCode("1+1");
        if (r.text !== "2") throw new Error(`runCode('1+1') gave ${r.text}`);
        return s;
      });
      firstRun.push(ms);
      await sbx.kill();
      const [baseMs, base] = await timed(async () => {
        const s = await Sandbox.create("base", opts);
        await s.commands.run("true");
        return s;
      });
      baseFirst.push(baseMs);
      await base.kill();
      await sleep(POOL_SETTLE_MS);
    }
    process.stdout.write(
      `${line({
        create_first_run_p50_ms: fmt(median(firstRun), 1),
        create_first_run_p95_ms: fmt(percentile(firstRun, 95), 1),
        baseline_base_create_first_command_p50_ms: fmt(median(baseFirst), 1),
        ratio: fmt(median(firstRun) / median(baseFirst)),
      })}\n`,
    );

    const sbx = await CodeSandbox.create(opts);
    const base = await Sandbox.create("base", opts);
    try {
      await sbx.runCode("1+1");
      const runCode: number[] = [];
      const command: number[] = [];
      for (let i = 0; i < runs * 5; i++) {
        runCode.push((await timed(() => sbx.runCode("1+1")))[0]);
        command.push((await timed(() => sbx.commands.run("true")))[0]);
      }
      process.stdout.write(
        `${line({
          run_code_p50_ms: fmt(median(runCode), 2),
          run_code_p95_ms: fmt(percentile(runCode, 95), 2),
          baseline_command_p50_ms: fmt(median(command), 2),
          ratio: fmt(median(runCode) / median(command)),
        })}\n`,
      );
      const chart = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 1])\nplt.title('t')\nplt.show()";
      await sbx.runCode(chart);
      const charts: number[] = [];
      for (let i = 0; i < runs; i++) charts.push((await timed(() => sbx.runCode(chart)))[0]);
      process.stdout.write(
        `${line({ chart_run_p50_ms: fmt(median(charts), 1), baseline_run_code_p50_ms: fmt(median(runCode), 2), ratio: fmt(median(charts) / median(runCode)) })}\n`,
      );
    } finally {
      await sbx.kill();
      await base.kill();
    }

    // Idle: a fresh sandbox of each, after its first run, left alone a moment.
    const idle = await CodeSandbox.create(opts);
    const idleBase = await Sandbox.create("base", opts);
    try {
      await idle.runCode("1+1");
      await idleBase.commands.run("true");
      await sleep(2_000);
      const ci = sumMemory(pidsInCgroupsNamed(new Set([idle.sandboxId])));
      const b = sumMemory(pidsInCgroupsNamed(new Set([idleBase.sandboxId])));
      process.stdout.write(
        `${line({ idle_pss_mb: fmt(ci.pssMb, 1), processes: String(ci.processes), baseline_base_idle_pss_mb: fmt(b.pssMb, 1), ratio: fmt(ci.pssMb / b.pssMb) })}\n`,
      );
    } finally {
      await idle.kill();
      await idleBase.kill();
    }
  } finally {
    await up?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
