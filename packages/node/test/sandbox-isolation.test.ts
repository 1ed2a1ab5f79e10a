// What a sandbox cannot do to the host or to other sandboxes, checked from
// inside real crun sandboxes through envd. Every check has a control that
// shows the same probe succeeds where it should (so a broken probe fails).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Sandbox } from "e2b";
import type { SandboxInfo } from "../src/sandbox/types.js";
import {
  connectSdk,
  ensureBaseTemplate,
  runCommand,
  skipReason,
  startTestNode,
  testTemplatesRoot,
  type SdkConnection,
  type TestNode,
} from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# sandbox-isolation: skipped: ${reason}`);

const sh = (sandbox: Sandbox, cmd: string, opts: { user?: "root" | "user"; timeoutMs?: number } = {}) => runCommand(sandbox, cmd, { user: "user", ...opts });

/** A templates dir for this suite: `base`, and `small-disk` (same rootfs, 64 MiB disk, 128 MiB memory). */
function makeTemplates(): string {
  const dir = mkdtempSync("/var/tmp/cove-iso-templates-");
  const base = join(testTemplatesRoot, "templates", "base");
  symlinkSync(base, join(dir, "base"));
  const manifest = JSON.parse(readFileSync(join(base, "template.json"), "utf8")) as { name: string; rootfs: string; defaults: Record<string, unknown> };
  mkdirSync(join(dir, "small-disk"));
  symlinkSync(resolve(base, manifest.rootfs), join(dir, "small-disk", "rootfs"));
  manifest.name = "small-disk";
  manifest.rootfs = "rootfs";
  manifest.defaults = { ...manifest.defaults, diskMB: 64, memoryMB: 128, cpuCount: 1 };
  writeFileSync(join(dir, "small-disk", "template.json"), JSON.stringify(manifest));
  return dir;
}

describe("sandbox isolation", { skip: reason, timeout: 900_000 }, () => {
  let t: TestNode;
  let templates: string;
  const open: SdkConnection[] = [];
  let a: SandboxInfo;
  let b: SandboxInfo;
  let sa: Sandbox;
  let sb: Sandbox;

  before(async () => {
    await ensureBaseTemplate();
    templates = makeTemplates();
    t = await startTestNode({ ...suiteNetwork("node/sandbox-isolation"), env: { COVE_TEMPLATES_DIR: templates, COVE_SANDBOX_PIDS: "200" } });
    a = await t.node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    b = await t.node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    const ca = await connectSdk(a);
    const cb = await connectSdk(b);
    open.push(ca, cb);
    sa = ca.sandbox;
    sb = cb.sandbox;
  });

  after(async () => {
    for (const c of open) await c.close();
    await t?.close();
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  it("a sandbox sees only its own processes", async () => {
    const r = await sh(sa, "ps -eo pid,comm --no-headers");
    const procs = r.stdout.trim().split("\n");
    assert.ok(procs.length < 10, `only a handful of processes: ${r.stdout}`);
    assert.match(procs[0]!, /^\s*1 tini$/, "PID 1 is the sandbox's init");
    assert.ok(!r.stdout.includes("systemd") && !r.stdout.includes("crun"), r.stdout);
    // Control: the host does see the sandbox's processes.
    assert.ok(Number(execFileSync("ps", ["-e", "--no-headers"], { encoding: "utf8" }).split("\n").length) > procs.length);
  });

  it("a sandbox cannot see another sandbox's files", async () => {
    await sa.files.write("/tmp/secret-of-a", "a's data");
    assert.equal((await sh(sa, "cat /tmp/secret-of-a")).stdout, "a's data");
    const r = await sh(sb, "cat /tmp/secret-of-a");
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /No such file/);
  });

  it("mount, module loading, raw sockets and ptrace fail, even for root", async () => {
    const mount = await sh(sa, "sudo mount -t tmpfs none /mnt", { user: "user" });
    assert.notEqual(mount.exitCode, 0);
    assert.match(mount.stderr, /permission denied|not permitted/i);
    // finit_module(2) straight through libc, as root: EPERM from seccomp.
    const mod = await sh(
      sa,
      `python3 -c 'import ctypes,os;l=ctypes.CDLL(None,use_errno=True);r=l.syscall(313,0,b"",0);print(r,os.strerror(ctypes.get_errno()))'`,
      { user: "root" },
    );
    assert.match(mod.stdout, /^-1 Operation not permitted/);
    const raw = await sh(sa, `python3 -c 'import socket;socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)'`, { user: "root" });
    assert.notEqual(raw.exitCode, 0);
    assert.match(raw.stderr, /PermissionError|not permitted/);
    // Control: an ordinary UDP socket works.
    assert.equal(
      (await sh(sa, `python3 -c 'import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM);print("ok")'`, { user: "root" })).stdout.trim(),
      "ok",
    );
    // PTRACE_ATTACH (16) to PID 1, as root.
    const ptrace = await sh(
      sa,
      `python3 -c 'import ctypes,os;l=ctypes.CDLL(None,use_errno=True);r=l.ptrace(16,1,0,0);print(r,os.strerror(ctypes.get_errno()))'`,
      { user: "root" },
    );
    assert.match(ptrace.stdout, /^-1 Operation not permitted/);
  });

  it("user cannot become root without sudo; with sudo it can (as in E2B)", async () => {
    assert.equal((await sh(sa, "id -u")).stdout.trim(), "1000");
    const shadow = await sh(sa, "cat /etc/shadow");
    assert.notEqual(shadow.exitCode, 0);
    assert.match(shadow.stderr, /Permission denied/);
    const su = await sh(sa, "su -c id root < /dev/null");
    assert.notEqual(su.exitCode, 0);
    assert.equal((await sh(sa, "sudo -n id -u")).stdout.trim(), "0");
  });

  describe("network", () => {
    let hostListener: Server;
    let hostPort = 0;

    before(async () => {
      hostListener = createServer((s) => s.end("host-service\n"));
      await new Promise<void>((resolve) => hostListener.listen(0, "0.0.0.0", resolve));
      hostPort = (hostListener.address() as { port: number }).port;
      await sb.commands.run("python3 -m http.server 8000 --bind 0.0.0.0 >/dev/null 2>&1", { background: true });
      for (let i = 0; i < 100; i++) {
        const ok = await fetch(`http://${b.sandboxIp}:8000/`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await sleep(100);
      }
    });

    after(() => new Promise<void>((resolve) => hostListener.close(() => resolve())));

    it("the node reaches a sandbox port through the veth address", async () => {
      const res = await fetch(`http://${t.node.manager.route(b.sandboxId, 8000).address}/`);
      assert.equal(res.status, 200);
    });

    it("sandbox to sandbox is refused", async () => {
      const r = await sh(sa, `curl -sS --max-time 2 http://${b.sandboxIp}:8000/`);
      assert.notEqual(r.exitCode, 0, r.stdout);
      // Control: inside B the same server answers.
      assert.equal((await sh(sb, "curl -sS -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:8000/")).stdout, "200");
    });

    it("sandbox to host services (on any host address) is refused", async () => {
      const gateway =
        (await sh(sa, "ip route show default 2>/dev/null | cut -d' ' -f3; true")).stdout.trim() || a.sandboxIp.replace(/\d+$/, (n) => String(Number(n) - 1));
      for (const address of [gateway, b.sandboxIp.replace(/\d+$/, (n) => String(Number(n) - 1))]) {
        const r = await sh(sa, `curl -sS --max-time 2 telnet://${address}:${hostPort} </dev/null`);
        assert.notEqual(r.exitCode, 0, `reached ${address}:${hostPort}: ${r.stdout}`);
      }
      // Control: from the host, the listener answers.
      const reply = await new Promise<string>((resolve, reject) => {
        let text = "";
        connect(hostPort, "127.0.0.1")
          .on("data", (d) => (text += d.toString()))
          .on("end", () => resolve(text))
          .on("error", reject);
      });
      assert.match(reply, /host-service/);
    });
  });

  it("orphaned processes are reaped by the sandbox's init, so zombies never pile up", async () => {
    // 50 children that outlive their parent shell, then exit: they are reparented to PID 1.
    await sh(sa, "for i in $(seq 50); do (sleep 0.2 &); done");
    await sleep(1500);
    const r = await sh(sa, "ps -eo stat --no-headers | grep -c '^Z' || true");
    assert.equal(r.stdout.trim(), "0", "no zombies left");
    // Control: those processes did run (they were counted in the cgroup's pids while alive).
    assert.equal((await sh(sa, "ps -eo comm --no-headers | head -1")).stdout.trim(), "tini");
  });

  it("a fork bomb stays inside its pids limit; the host and other sandboxes carry on", async () => {
    const bomb = await t.node.manager.create({ templateId: "base", timeoutMs: 120_000, cpuCount: 1 });
    const c = await connectSdk(bomb);
    try {
      await c.sandbox.commands.run("bash -c ':(){ :|:& };:' >/dev/null 2>&1", { background: true });
      const pidsFile = cgroupFile(t.node.cgroupParent, bomb.sandboxId, "pids", ["pids.current"]);
      let peak = 0;
      for (let i = 0; i < 50; i++) {
        peak = Math.max(peak, Number(readFileSync(pidsFile, "utf8")));
        if (peak >= 200) break;
        await sleep(100);
      }
      assert.ok(peak <= 200 && peak > 100, `pids.current peaked at ${peak} (limit 200)`);
      // The host can still start processes, and another sandbox still runs commands.
      assert.equal(execFileSync("echo", ["host ok"], { encoding: "utf8" }).trim(), "host ok");
      assert.equal((await sh(sb, "echo still fine")).stdout.trim(), "still fine");
    } finally {
      await c.close();
      await t.node.manager.kill(bomb.sandboxId);
    }
  });

  it("a memory hog is OOM-killed inside its sandbox only", async () => {
    const hog = await t.node.manager.create({ templateId: "small-disk", timeoutMs: 120_000 });
    const c = await connectSdk(hog);
    try {
      assert.equal(hog.memoryMB, 128);
      const r = await sh(c.sandbox, "python3 -c 'a=[bytearray(16<<20) for _ in range(64)]; print(\"survived\")'");
      assert.notEqual(r.exitCode, 0);
      assert.ok(!r.stdout.includes("survived"));
      // envd in the same sandbox survived, and so did the neighbours.
      assert.equal((await sh(c.sandbox, "echo alive")).stdout.trim(), "alive");
      assert.equal((await sh(sb, "echo neighbour alive")).stdout.trim(), "neighbour alive");
    } finally {
      await c.close();
      await t.node.manager.kill(hog.sandboxId);
    }
  });

  it("filling the disk gives ENOSPC inside; another sandbox and the host are unaffected", async () => {
    const full = await t.node.manager.create({ templateId: "small-disk", timeoutMs: 120_000 });
    const c = await connectSdk(full);
    const hostFreeBefore = freeBytes(t.dataDir);
    try {
      assert.equal(full.diskMB, 64);
      const r = await sh(c.sandbox, "dd if=/dev/zero of=/home/user/fill bs=1M count=200");
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /No space left on device/);
      const written = Number((await sh(c.sandbox, "stat -c %s /home/user/fill")).stdout);
      assert.ok(written < 70 * 1024 * 1024, `wrote ${written} bytes`);
      // The SDK sees a full disk as such too.
      await assert.rejects(c.sandbox.files.write("/home/user/more", new Uint8Array(8 << 20).buffer), /space|507/i);
      assert.equal((await sh(sb, "dd if=/dev/zero of=/tmp/ok bs=1M count=100 2>&1 && echo written")).stdout.trim().split("\n").pop(), "written");
      assert.ok(freeBytes(t.dataDir) > hostFreeBefore - 400 * 1024 * 1024, "the host lost no more than the sandboxes' own writes");
    } finally {
      await c.close();
      await t.node.manager.kill(full.sandboxId);
    }
  });
});

function freeBytes(path: string): number {
  const out = execFileSync("df", ["-B1", "--output=avail", path], { encoding: "utf8" }).trim().split("\n");
  return Number(out[out.length - 1]);
}

/** A sandbox's cgroup file under cgroup v1 (`/sys/fs/cgroup/<controller>/...`) or v2 (`/sys/fs/cgroup/...`). */
function cgroupFile(parent: string, id: string, controller: string, names: string[]): string {
  for (const root of [join("/sys/fs/cgroup", controller, parent, id), join("/sys/fs/cgroup", parent, id)]) {
    for (const name of names) {
      try {
        readFileSync(join(root, name));
        return join(root, name);
      } catch {
        // try the next layout
      }
    }
  }
  throw new Error(`no ${names.join("/")} for ${id}`);
}
