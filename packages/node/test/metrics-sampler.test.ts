// The node's metrics sampler against fakes: cgroup trees in a temp dir (v1 and v2 layouts), a
// fake clock and a fake list of sandboxes. No sandbox runs here.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createMetricsSampler, type SampledSandbox } from "../src/metrics/sampler.js";
import { createHostUsageReader, type SandboxUsage } from "../src/metrics/usage.js";
import { createFakeClock } from "./helpers/fake-clock.js";

const MiB = 1024 * 1024;

describe("host usage reader", () => {
  const root = mkdtempSync(join(tmpdir(), "cove-metrics-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  function files(dir: string, entries: Record<string, string>) {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  }

  it("v2: cpu.stat usage_usec, memory.current, memory.stat file and inactive_file; disk from statfs", async () => {
    files(join(root, "v2", "cove-x", "sbx1"), {
      "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
      "memory.current": "104857600\n",
      "memory.stat": "anon 73400320\nfile 31457280\nactive_file 10485760\ninactive_file 20971520\n",
    });
    const read = createHostUsageReader({ cgroupMode: "v2", cgroupParent: "cove-x", cgroupRoot: join(root, "v2"), diskDir: () => root });
    const u = await read("sbx1");
    assert.ok(u);
    assert.equal(u.cpuUsageNs, 2_500_000_000);
    assert.equal(u.memUsageBytes, 100 * MiB);
    assert.equal(u.memCacheBytes, 30 * MiB);
    assert.equal(u.memInactiveFileBytes, 20 * MiB);
    assert.ok(u.diskTotalBytes > 0 && u.diskUsedBytes <= u.diskTotalBytes);
  });

  for (const mode of ["v1", "hybrid"] as const) {
    it(`${mode}: cpuacct.usage and the memory hierarchy's usage and total_* stats`, async () => {
      const base = join(root, mode);
      files(join(base, "cpuacct", "cove-x", "sbx1"), { "cpuacct.usage": "7000000000\n" });
      files(join(base, "memory", "cove-x", "sbx1"), {
        "memory.usage_in_bytes": "52428800\n",
        "memory.stat": "cache 1048576\ninactive_file 1048576\ntotal_cache 4194304\ntotal_inactive_file 2097152\n",
      });
      const read = createHostUsageReader({ cgroupMode: mode, cgroupParent: "cove-x", cgroupRoot: base, diskDir: () => root });
      const u = await read("sbx1");
      assert.ok(u);
      assert.equal(u.cpuUsageNs, 7_000_000_000);
      assert.equal(u.memUsageBytes, 50 * MiB);
      assert.equal(u.memCacheBytes, 4 * MiB);
      assert.equal(u.memInactiveFileBytes, 2 * MiB);
    });
  }

  it("a sandbox without a cgroup reads as undefined; a missing disk as 0", async () => {
    const read = createHostUsageReader({ cgroupMode: "v2", cgroupParent: "cove-x", cgroupRoot: join(root, "v2"), diskDir: () => join(root, "nope") });
    assert.equal(await read("gone"), undefined);
    const u = await read("sbx1");
    assert.equal(u?.diskTotalBytes, 0);
  });
});

describe("metrics sampler", () => {
  function setup() {
    const clock = createFakeClock();
    const sandboxes: SampledSandbox[] = [
      { sandboxId: "a", state: "running", cpuCount: 2, memoryMB: 512 },
      { sandboxId: "b", state: "running", cpuCount: 1, memoryMB: 256 },
    ];
    const usage = new Map<string, SandboxUsage>();
    const use = (id: string, cpuSeconds: number, memMiB = 64) =>
      usage.set(id, {
        cpuUsageNs: cpuSeconds * 1e9,
        memUsageBytes: memMiB * MiB,
        memCacheBytes: 8 * MiB,
        memInactiveFileBytes: 4 * MiB,
        diskUsedBytes: 10 * MiB,
        diskTotalBytes: 1024 * MiB,
      });
    const sampler = createMetricsSampler({ sandboxes: () => sandboxes, read: async (id) => usage.get(id), clock, everyMs: 5000, keepMs: 60_000 });
    return { clock, sandboxes, use, sampler };
  }

  it("every 5 s: one sample per running sandbox, CPU as the share of its CPUs since the last one", async () => {
    const { clock, use, sampler } = setup();
    use("a", 0);
    use("b", 0);
    await clock.advance(5000); // baseline only
    assert.deepEqual(sampler.since(0n).samples, []);
    use("a", 5); // 5 s of CPU over 5 s × 2 CPUs
    use("b", 1.25); // 1.25 s over 5 s × 1 CPU
    await clock.advance(5000);
    const { samples, cursor } = sampler.since(0n);
    assert.deepEqual(
      samples.map((s) => [s.sandboxId, s.cpuUsedPct, s.cpuCount]),
      [
        ["a", 50, 2],
        ["b", 25, 1],
      ],
    );
    const a = samples[0];
    assert.equal(a?.memUsedBytes, 60 * MiB, "inactive file cache is not counted as used");
    assert.equal(a?.memTotalBytes, 512 * MiB);
    assert.equal(a?.memCacheBytes, 8 * MiB);
    assert.equal(a?.diskUsedBytes, 10 * MiB);
    assert.equal(a?.at, clock.now());
    assert.deepEqual(sampler.since(cursor).samples, [], "nothing new after the cursor");
    await clock.advance(5000);
    assert.equal(sampler.since(cursor).samples.length, 2);
    sampler.stop();
  });

  it("paused sandboxes are not sampled, and a resumed one starts a new baseline", async () => {
    const { clock, sandboxes, use, sampler } = setup();
    use("a", 0);
    use("b", 0);
    await clock.advance(10_000);
    const { cursor } = sampler.since(0n);
    const a = sandboxes[0];
    assert.ok(a);
    a.state = "paused";
    await clock.advance(15_000);
    assert.deepEqual(
      sampler.since(cursor).samples.map((s) => s.sandboxId),
      ["b", "b", "b"],
    );
    const c2 = sampler.since(cursor).cursor;
    a.state = "running";
    use("a", 1);
    await clock.advance(5000); // baseline again: the paused time is not counted as idle
    assert.deepEqual(
      sampler.since(c2).samples.map((s) => s.sandboxId),
      ["b"],
    );
    use("a", 2);
    await clock.advance(5000);
    const last = sampler.since(c2).samples.filter((s) => s.sandboxId === "a");
    assert.deepEqual(
      last.map((s) => s.cpuUsedPct),
      [10],
    );
    sampler.stop();
  });

  it("drops samples older than keepMs; a cursor from the future gets everything held", async () => {
    const { clock, use, sampler } = setup();
    use("a", 0);
    use("b", 0);
    await clock.advance(120_000);
    const all = sampler.since(0n).samples;
    assert.ok(all.length > 0);
    for (const s of all) assert.ok(s.at >= clock.now() - 60_000, "only the last minute is held");
    assert.equal(sampler.since(2n ** 62n).samples.length, all.length);
    sampler.stop();
  });
});
