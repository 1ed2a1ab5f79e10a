// A sandbox sees its own memory, CPUs and uptime in /proc and /sys (lxcfs's files bound over the
// kernel's), in real crun sandboxes: after pause/resume, after lxcfs dies and the node restarts
// it, after the node itself restarts and adopts the running lxcfs; and a sandbox cannot unmount
// the view or wedge lxcfs for another sandbox.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Sandbox } from "e2b";
import { startNode, type RunningNode } from "../src/node.js";
import { findOnPath } from "../src/runtime/container/host-detect.js";
import { silentLogger } from "../src/sandbox/logger.js";
import type { SandboxInfo } from "../src/sandbox/types.js";
import { readMounts } from "../src/storage/mountinfo.js";
import { connectSdk, ensureBaseTemplate, runCommand, skipReason, testNodeConfig, type SdkConnection } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason() ?? (findOnPath("lxcfs") ? undefined : "lxcfs is not installed (scripts/install-deps.sh)");
if (reason) console.log(`# proc-views: skipped: ${reason}`);

const MiB = 1024 * 1024;

async function sh(sandbox: Sandbox, cmd: string): Promise<string> {
  const r = await runCommand(sandbox, cmd, { user: "root" });
  assert.equal(r.exitCode, 0, `${cmd}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** MemTotal in bytes, from /proc/meminfo. */
async function memTotal(sandbox: Sandbox): Promise<number> {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(await sh(sandbox, "cat /proc/meminfo"));
  assert.ok(m, "MemTotal in /proc/meminfo");
  return Number(m[1]) * 1024;
}

/** The sandbox's views: memory, CPUs and uptime as its programs find them. */
async function views(sandbox: Sandbox) {
  const free = (await sh(sandbox, "free -b")).split("\n").find((l) => l.startsWith("Mem:"));
  return {
    memTotal: await memTotal(sandbox),
    freeTotal: Number(free?.trim().split(/\s+/)[1]),
    cpuinfo: Number((await sh(sandbox, "grep -c ^processor /proc/cpuinfo")).trim()),
    online: (await sh(sandbox, "cat /sys/devices/system/cpu/online")).trim(),
    onlineConf: Number((await sh(sandbox, "getconf _NPROCESSORS_ONLN")).trim()),
    nproc: Number((await sh(sandbox, "nproc")).trim()),
    uptime: Number((await sh(sandbox, "cat /proc/uptime")).split(" ")[0]),
  };
}

const hostUptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

describe("sandbox /proc views (lxcfs)", { skip: reason, timeout: 600_000 }, () => {
  let dataDir: string;
  let node: RunningNode | undefined;
  const open: SdkConnection[] = [];
  let a: SandboxInfo;
  let b: SandboxInfo;
  let sa: Sandbox;
  let sb: Sandbox;
  const config = () => testNodeConfig({ ...suiteNetwork("node/proc-views") }, dataDir);
  const lxcfsPid = () => {
    const s = node!.procViews;
    assert.equal(s.source, "node", `the node runs lxcfs: ${JSON.stringify(s)}`);
    return s.source === "node" ? s.pid : 0;
  };

  before(async () => {
    await ensureBaseTemplate();
    dataDir = mkdtempSync("/var/tmp/cove-cml-");
    node = await startNode(config(), silentLogger);
    [a, b] = await Promise.all([
      node.manager.create({ templateId: "base", timeoutMs: 600_000, memoryMB: 512, cpuCount: 1 }),
      node.manager.create({ templateId: "base", timeoutMs: 600_000, memoryMB: 1024, cpuCount: 2 }),
    ]);
    const [ca, cb] = await Promise.all([connectSdk(a), connectSdk(b)]);
    open.push(ca, cb);
    sa = ca.sandbox;
    sb = cb.sandbox;
  });

  after(async () => {
    for (const c of open) await c.close();
    // A node that holds no sandbox stops its lxcfs and unmounts it.
    if (!node) node = await startNode(config(), silentLogger).catch(() => undefined);
    await node?.close({ killAll: true });
    if (dataDir) {
      const left = (await readMounts()).filter((m) => m.mountPoint.startsWith(dataDir));
      if (left.length === 0) rmSync(dataDir, { recursive: true, force: true });
      else console.log(`# proc-views: left mounted: ${left.map((m) => m.mountPoint).join(", ")}`);
    }
  });

  it("a 512 MiB, 1-CPU sandbox sees 512 MiB, 1 CPU and its own uptime", async () => {
    const v = await views(sa);
    console.log(`# proc-views: sandbox a sees ${JSON.stringify(v)}`);
    assert.equal(v.memTotal, 512 * MiB);
    assert.equal(v.freeTotal, 512 * MiB, "free reads /proc/meminfo");
    assert.equal(v.cpuinfo, 1);
    assert.equal(v.online, "0");
    assert.equal(v.onlineConf, 1, "glibc's online CPU count comes from /sys/devices/system/cpu/online");
    assert.ok(v.uptime < hostUptime(), `uptime ${v.uptime} counts from the sandbox's start, not the host's boot (${hostUptime()})`);
    assert.ok(v.uptime < 300, `uptime ${v.uptime} starts near 0`);
    const w = await views(sb);
    assert.equal(w.memTotal, 1024 * MiB, "each sandbox sees its own limit");
    assert.equal(w.cpuinfo, 2);
    assert.equal(w.online, "0-1");
  });

  it("the views are read-only and root in the sandbox cannot unmount them", async () => {
    for (const path of ["/proc/meminfo", "/proc/uptime", "/sys/devices/system/cpu/online"]) {
      const r = await runCommand(sa, `umount ${path}; umount -l ${path}; echo 1 > ${path}`, { user: "root" });
      assert.notEqual(r.exitCode, 0, `${path}: ${r.stdout}${r.stderr}`);
    }
    assert.equal(await memTotal(sa), 512 * MiB);
  });

  it("odd reads in one sandbox do not break lxcfs for another", async () => {
    // A read at a huge offset, a seek past the end, reads of every lxcfs file in a loop, in parallel.
    const odd = runCommand(
      sa,
      "dd if=/proc/meminfo of=/dev/null bs=1 skip=1099511627776 count=1; dd if=/proc/cpuinfo of=/dev/null bs=1M skip=4095 count=1; " +
        "for i in $(seq 200); do cat /proc/meminfo /proc/cpuinfo /proc/stat /proc/diskstats /proc/loadavg /proc/swaps /proc/uptime > /dev/null; done",
      { user: "root", timeoutMs: 120_000 },
    );
    assert.equal(await memTotal(sb), 1024 * MiB);
    await odd;
    assert.equal(await memTotal(sb), 1024 * MiB);
    assert.equal(await memTotal(sa), 512 * MiB);
  });

  it("the views stay right across pause and resume", async () => {
    await node!.manager.pause(a.sandboxId);
    await node!.manager.resume(a.sandboxId);
    const v = await views(sa);
    assert.equal(v.memTotal, 512 * MiB);
    assert.equal(v.cpuinfo, 1);
  });

  it("a dead lxcfs is restarted and running sandboxes are bound to the new one", async () => {
    const old = lxcfsPid();
    process.kill(old, "SIGKILL");
    // The node notices within its check interval (5 s) and binds the sandboxes to the new lxcfs.
    let healed = false;
    for (let i = 0; i < 100 && !healed; i++) {
      const r = await runCommand(sa, "cat /proc/meminfo", { user: "root" });
      healed = r.exitCode === 0 && /^MemTotal:\s+524288 kB$/m.test(r.stdout);
      if (!healed) await sleep(200);
    }
    assert.ok(healed, "sandbox a reads its meminfo again");
    assert.notEqual(lxcfsPid(), old);
    assert.equal(await memTotal(sb), 1024 * MiB);
    assert.equal((await views(sa)).online, "0");
  });

  it("after a node restart the new node adopts the running lxcfs; views stay right", async () => {
    const before = readFileSync(`${dataDir}/lxcfs/lxcfs.pid`, "utf8").trim();
    await node!.close();
    node = undefined;
    assert.equal(await memTotal(sa), 512 * MiB, "lxcfs outlives the node");
    node = await startNode(config(), silentLogger);
    assert.deepEqual(node.recovery.adopted.sort(), [a.sandboxId, b.sandboxId].sort());
    const s = node.procViews;
    assert.ok(s.source === "node" && s.adopted && String(s.pid) === before, JSON.stringify(s));
    assert.equal(await memTotal(sa), 512 * MiB);
    assert.equal(await memTotal(sb), 1024 * MiB);
    const c = await node.manager.create({ templateId: "base", timeoutMs: 600_000, memoryMB: 256, cpuCount: 1 });
    const cc = await connectSdk(c);
    open.push(cc);
    assert.equal(await memTotal(cc.sandbox), 256 * MiB);
  });

  it("a node with no sandbox left stops its lxcfs and unmounts it", async () => {
    const pid = lxcfsPid();
    await node!.close({ killAll: true });
    node = undefined;
    assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "), "lxcfs is gone");
    assert.ok(
      (await readMounts()).every((m) => !m.mountPoint.startsWith(dataDir)),
      "nothing mounted under the data dir",
    );
  });
});

describe("sandbox /proc views (lxcfs) with runc", { skip: reason ?? (findOnPath("runc") ? undefined : "runc is not installed"), timeout: 300_000 }, () => {
  let dataDir: string;
  let node: RunningNode | undefined;
  let conn: SdkConnection | undefined;

  after(async () => {
    await conn?.close();
    await node?.close({ killAll: true });
    if (dataDir && (await readMounts()).every((m) => !m.mountPoint.startsWith(dataDir))) rmSync(dataDir, { recursive: true, force: true });
  });

  it("a runc sandbox sees its own memory and CPUs; a dead lxcfs shows as ENOTCONN until the node rebinds", async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cml-runc-");
    node = await startNode(testNodeConfig({ ...suiteNetwork("node/proc-views"), runtime: "runc" }, dataDir), silentLogger);
    const info = await node.manager.create({ templateId: "base", timeoutMs: 300_000, memoryMB: 384, cpuCount: 1 });
    conn = await connectSdk(info);
    const v = await views(conn.sandbox);
    assert.equal(v.memTotal, 384 * MiB);
    assert.equal(v.cpuinfo, 1);
    assert.equal(v.online, "0");
    const s = node.procViews;
    assert.equal(s.source, "node");
    if (s.source !== "node") return;
    process.kill(s.pid, "SIGKILL");
    const dead = await runCommand(conn.sandbox, "cat /proc/meminfo", { user: "root" });
    console.log(`# proc-views: right after lxcfs died: exit ${dead.exitCode} ${dead.stderr.trim()}`);
    let healed = false;
    for (let i = 0; i < 100 && !healed; i++) {
      healed = (await runCommand(conn.sandbox, "cat /proc/meminfo", { user: "root" })).stdout.includes("MemTotal:         393216 kB");
      if (!healed) await sleep(200);
    }
    assert.ok(healed, "rebound to the new lxcfs");
  });
});
