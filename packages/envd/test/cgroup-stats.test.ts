import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readCgroupStats } from "../src/http/cgroup-stats.js";

const root = mkdtempSync("/tmp/envd-cgroup-");
after(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), `${text}\n`);
  }
  return dir;
}

describe("a sandbox's cgroup figures", () => {
  it("v2: limit, usage, cache, quota and CPU time", async () => {
    const dir = tree("v2", {
      "cgroup.controllers": "cpu memory pids",
      "memory.max": "536870912",
      "memory.current": "104857600",
      "memory.stat": "anon 50000000\nfile 40000000\ninactive_file 30000000",
      "cpu.max": "150000 100000",
      "cpu.stat": "usage_usec 2500\nuser_usec 2000",
    });
    assert.deepEqual(await readCgroupStats(dir), {
      memLimit: 536870912,
      memUsage: 104857600,
      memCache: 40000000,
      memInactiveFile: 30000000,
      cpuQuota: 1.5,
      cpuUsageNs: 2_500_000,
    });
  });

  it("v2 without limits: memory.max and cpu.max say max", async () => {
    const dir = tree("v2max", { "cgroup.controllers": "", "memory.max": "max", "memory.current": "1", "cpu.max": "max 100000" });
    const s = await readCgroupStats(dir);
    assert.equal(s.memLimit, undefined);
    assert.equal(s.cpuQuota, undefined);
  });

  it("v1: the per-controller layout, and v1's huge number for no limit", async () => {
    const limited = tree("v1", {
      "memory/memory.limit_in_bytes": "536870912",
      "memory/memory.usage_in_bytes": "20000000",
      "memory/memory.stat": "cache 9000\ninactive_file 4000\ntotal_cache 8000\ntotal_inactive_file 3000",
      "cpu/cpu.cfs_quota_us": "200000",
      "cpu/cpu.cfs_period_us": "100000",
      "cpuacct/cpuacct.usage": "123456789",
    });
    assert.deepEqual(await readCgroupStats(limited), {
      memLimit: 536870912,
      memUsage: 20000000,
      memCache: 8000,
      memInactiveFile: 3000,
      cpuQuota: 2,
      cpuUsageNs: 123456789,
    });
    const open = tree("v1open", { "memory/memory.limit_in_bytes": "9223372036854771712", "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000" });
    const s = await readCgroupStats(open);
    assert.equal(s.memLimit, undefined);
    assert.equal(s.cpuQuota, undefined);
  });

  it("no cgroup files at all: nothing known", async () => {
    assert.deepEqual(await readCgroupStats(join(root, "none")), {
      memLimit: undefined,
      memUsage: undefined,
      memCache: undefined,
      memInactiveFile: undefined,
      cpuQuota: undefined,
      cpuUsageNs: undefined,
    });
  });
});
