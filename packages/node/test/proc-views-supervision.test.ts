// The node's lxcfs supervision against a fake host: what it adopts, what it restarts, what it
// never touches (a pid that is not its lxcfs, the host's own lxcfs), and what each mode does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { decideLxcfs, type LxcfsObservation } from "../src/proc-views/lxcfs-decide.js";
import type { LxcfsHost } from "../src/proc-views/lxcfs-host.js";
import { createProcViews, type ProcViewsMode } from "../src/proc-views/proc-views.js";
import { silentLogger } from "../src/sandbox/logger.js";

describe("decideLxcfs", () => {
  const cases: [string, LxcfsObservation, ReturnType<typeof decideLxcfs>][] = [
    ["ours, mounted, answering: adopt", { pid: 42, pidIsOurs: true, mounted: true, answers: true }, { kind: "adopt", pid: 42 }],
    ["nothing there: start", { pidIsOurs: false, mounted: false, answers: false }, { kind: "start", unmount: false }],
    [
      "stale pidfile of a recycled pid, no mount: start, never signal it",
      { pid: 42, pidIsOurs: false, mounted: false, answers: false },
      { kind: "start", unmount: false },
    ],
    ["dead daemon's mount (ENOTCONN): unmount, start", { pid: 42, pidIsOurs: false, mounted: true, answers: false }, { kind: "start", unmount: true }],
    ["ours but hung: kill it, unmount, start", { pid: 42, pidIsOurs: true, mounted: true, answers: false }, { kind: "start", killPid: 42, unmount: true }],
    ["ours but not mounted: kill it, start", { pid: 42, pidIsOurs: true, mounted: false, answers: false }, { kind: "start", killPid: 42, unmount: false }],
    ["someone else's lxcfs on our dir: unmount, start", { pidIsOurs: false, mounted: true, answers: true }, { kind: "start", unmount: true }],
  ];
  for (const [name, observation, action] of cases) it(name, () => assert.deepEqual(decideLxcfs(observation), action));
});

/** A host whose lxcfs lives and dies as the test says; `calls` records what the supervisor did. */
function fakeHost(initial: Partial<LxcfsObservation> & { system?: string } = {}) {
  let nextPid = 100;
  const state = {
    pid: initial.pid,
    ours: initial.pidIsOurs ?? false,
    mounted: initial.mounted ?? false,
    answers: initial.answers ?? false,
    dead: new Set<number>(),
  };
  const calls: string[] = [];
  const host: LxcfsHost = {
    async observe() {
      return { ...(state.pid !== undefined ? { pid: state.pid } : {}), pidIsOurs: state.ours, mounted: state.mounted, answers: state.answers };
    },
    alive: (pid) => pid === state.pid && state.ours && !state.dead.has(pid),
    async start() {
      const pid = nextPid++;
      calls.push(`start ${pid}`);
      Object.assign(state, { pid, ours: true, mounted: true, answers: true });
      return pid;
    },
    async kill(pid) {
      calls.push(`kill ${pid}`);
      state.dead.add(pid);
      Object.assign(state, { ours: false, mounted: false, answers: false });
    },
    async unmount(dir) {
      calls.push(`unmount ${dir}`);
      state.mounted = false;
    },
    async systemMount() {
      return initial.system;
    },
  };
  /** lxcfs dies on its own (SIGKILL, OOM): its mount stays, answering ENOTCONN. */
  const die = () => {
    state.dead.add(state.pid!);
    Object.assign(state, { ours: false, answers: false });
  };
  return { host, calls, die };
}

function views(mode: ProcViewsMode, host: LxcfsHost | undefined, restarts: string[] = []) {
  return createProcViews({
    mode,
    host,
    mountDir: "/data/lxcfs/mnt",
    logger: silentLogger,
    checkIntervalMs: 3_600_000,
    onRestart: async (dir) => void restarts.push(dir),
  });
}

describe("proc views supervision", () => {
  it("adopts a running lxcfs of ours without restarting it or rebinding anything", async () => {
    const { host, calls } = fakeHost({ pid: 7, pidIsOurs: true, mounted: true, answers: true });
    const restarts: string[] = [];
    const v = views("auto", host, restarts);
    assert.deepEqual(await v.start(), { source: "node", mountDir: "/data/lxcfs/mnt", pid: 7, adopted: true });
    assert.deepEqual(calls, []);
    assert.deepEqual(restarts, []);
    assert.equal((await v.binds()).length, 8);
    v.close();
  });

  it("starts lxcfs when none runs, and rebinds sandboxes an earlier node left", async () => {
    const { host, calls } = fakeHost();
    const restarts: string[] = [];
    const v = views("auto", host, restarts);
    assert.deepEqual(await v.start(), { source: "node", mountDir: "/data/lxcfs/mnt", pid: 100, adopted: false });
    assert.deepEqual(calls, ["start 100"]);
    assert.deepEqual(restarts, ["/data/lxcfs/mnt"]);
    v.close();
  });

  it("clears a dead daemon's mount before starting, and never signals a pid that is not its lxcfs", async () => {
    const { host, calls } = fakeHost({ pid: 1234, pidIsOurs: false, mounted: true, answers: false });
    const v = views("auto", host);
    await v.start();
    assert.deepEqual(calls, ["unmount /data/lxcfs/mnt", "start 100"]);
    v.close();
  });

  it("restarts lxcfs that died under it before handing out binds, once, and rebinds the running sandboxes", async () => {
    const { host, calls, die } = fakeHost();
    const restarts: string[] = [];
    const v = views("auto", host, restarts);
    await v.start();
    die();
    const binds = await Promise.all([v.binds(), v.binds()]);
    assert.deepEqual(calls, ["start 100", "unmount /data/lxcfs/mnt", "start 101"], "two creates at once restart it once, after clearing the dead mount");
    assert.deepEqual(restarts, ["/data/lxcfs/mnt", "/data/lxcfs/mnt"]);
    assert.deepEqual(
      binds[0]!.map((b) => b.destination),
      ["/proc/cpuinfo", "/proc/diskstats", "/proc/loadavg", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime", "/sys/devices/system/cpu/online"],
    );
    assert.ok(binds[0]!.every((b) => b.readonly && b.source === `/data/lxcfs/mnt${b.destination}`));
    assert.deepEqual(v.status(), { source: "node", mountDir: "/data/lxcfs/mnt", pid: 101, adopted: false });
    v.close();
  });

  it("uses the host's own lxcfs (Debian's service) and never starts or stops one", async () => {
    const { host, calls } = fakeHost({ system: "/var/lib/lxcfs" });
    const v = views("auto", host);
    assert.deepEqual(await v.start(), { source: "system", mountDir: "/var/lib/lxcfs" });
    assert.equal((await v.binds())[0]!.source, "/var/lib/lxcfs/proc/cpuinfo");
    await v.stop();
    assert.deepEqual(calls, []);
  });

  it("off: no lxcfs and no binds", async () => {
    const { host, calls } = fakeHost();
    const v = views("off", host);
    assert.deepEqual(await v.start(), { source: "off" });
    assert.deepEqual(await v.binds(), []);
    assert.deepEqual(calls, []);
  });

  it("auto without lxcfs installed: starts, sandboxes get no binds; lxcfs mode refuses to start", async () => {
    const v = views("auto", undefined);
    assert.deepEqual(await v.start(), { source: "missing" });
    assert.deepEqual(await v.binds(), []);
    await assert.rejects(views("lxcfs", undefined).start(), (err: unknown) => err instanceof NodeError && err.code === "unavailable");
  });

  it("auto falls back to host values when lxcfs will not start; lxcfs mode fails", async () => {
    const { host } = fakeHost();
    host.start = async () => {
      throw new NodeError("unavailable", "no /dev/fuse");
    };
    assert.deepEqual(await views("auto", host).start(), { source: "missing" });
    await assert.rejects(views("lxcfs", host).start(), /no \/dev\/fuse/);
  });

  it("stop kills its lxcfs and clears a mount left behind", async () => {
    const { host, calls } = fakeHost();
    const v = views("lxcfs", host);
    await v.start();
    await v.stop();
    assert.deepEqual(calls, ["start 100", "kill 100"]);
    assert.deepEqual(v.status(), { source: "off" });
  });
});
