// Each sandbox has its own user namespace: its root and its `user` are host uids of their own,
// different from the host's and from every other sandbox's. Attacks that worked while sandboxes
// shared the host's uids, tried for real from inside crun sandboxes.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Sandbox } from "e2b";
import type { SandboxInfo } from "../src/sandbox/types.js";
import { connectSdk, runCommand, skipReason, startTestNode, type SdkConnection, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# sandbox-userns: skipped: ${reason}`);

const sh = (sandbox: Sandbox, cmd: string, user: "root" | "user" = "root") => runCommand(sandbox, cmd, { user });

/** Real (host) uid of a host process, from /proc/<pid>/status. */
function hostUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

// Holds inotify instances until killed and prints how many it got: the per-uid limit
// (fs.inotify.max_user_instances, 128 by default) belongs to the kernel user.
const inotifyHog = `perl -e 'my $n = 0; while (syscall(253) >= 0) { $n++ } print "$n\\n"; close STDOUT; sleep 600'`;

describe("sandbox user namespaces", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  const open: SdkConnection[] = [];
  let a: SandboxInfo;
  let b: SandboxInfo;
  let sa: Sandbox;
  let sb: Sandbox;

  before(async () => {
    t = await startTestNode(suiteNetwork("node/sandbox-userns"));
    a = await t.node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    b = await t.node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    open.push(await connectSdk(a), await connectSdk(b));
    sa = open[0]!.sandbox;
    sb = open[1]!.sandbox;
  });

  after(async () => {
    for (const c of open) await c.close();
    await t?.close();
  });

  it("root inside is an unprivileged host uid, a different one in each sandbox", async () => {
    const inside = await sh(sa, "id -u; cat /proc/self/uid_map");
    assert.equal(inside.stdout.split("\n")[0], "0");
    const uids = await Promise.all(
      [a, b].map(async (s) => {
        const state = await t.node.sandboxRuntime.inspect(s.sandboxId);
        assert.ok(state?.pid, `sandbox ${s.sandboxId} has an init pid`);
        return hostUid(state.pid);
      }),
    );
    assert.notEqual(uids[0], 0, "sandbox root must not be host root");
    assert.notEqual(uids[1], 0);
    assert.notEqual(uids[0], uids[1], "two sandboxes must not share host uids");
    assert.match(inside.stdout, new RegExp(`^\\s*0\\s+${uids[0]}\\s+65536$`, "m"));
  });

  it("a setuid-root file planted inside is owned by an unprivileged uid on the host", async () => {
    const r = await sh(sa, "cp /usr/bin/id /planted && chmod 4755 /planted && stat -c '%u %a' /planted");
    assert.equal(r.stdout.trim(), "0 4755", r.stderr);
    const onHost = statSync(join(t.dataDir, "storage", "sandboxes", a.sandboxId, "disk", "upper", "planted"));
    assert.notEqual(onHost.uid, 0, "the planted file must not be host-root-owned");
    assert.equal(onHost.mode & 0o4000, 0o4000);
  });

  it("one sandbox's user exhausting its inotify instances leaves another sandbox's user unaffected", async () => {
    const hog = await sa.commands.run(inotifyHog, { user: "user", background: true });
    try {
      let taken = "";
      for (let i = 0; i < 100 && taken === ""; i++) {
        await sleep(100);
        taken = hog.stdout.trim();
      }
      assert.ok(Number(taken) > 0, `the hog got no instance: ${taken}`);
      // Same kernel user? Then this sandbox's `user` would be at the limit too.
      const other = await sh(sb, `perl -e 'print syscall(253) >= 0 ? "ok" : "EMFILE: $!"'`, "user");
      assert.equal(other.stdout, "ok");
      const same = await sh(sa, `perl -e 'print syscall(253) >= 0 ? "ok" : "EMFILE"'`, "user");
      assert.equal(same.stdout, "EMFILE", "control: the hog's own sandbox is at its limit");
    } finally {
      await hog.kill();
    }
  });

  it("sudo, a fresh sysfs of the sandbox's own network and file ownership keep working", async () => {
    const sudo = await sh(sa, "sudo -n id -u", "user");
    assert.equal(sudo.stdout.trim(), "0", sudo.stderr);
    const net = await sh(sa, "ls /sys/class/net | sort | tr '\\n' ' '");
    assert.equal(net.stdout.trim(), "eth0 lo", "sysfs shows the sandbox's interfaces, not the host's");
    await sa.files.write("/home/user/owned.txt", "x");
    const owner = await sh(sa, "stat -c '%U:%G' /home/user/owned.txt");
    assert.equal(owner.stdout.trim(), "user:user");
  });

  it("pause and resume keep the mapping; a node restart re-adopts the namespace", async () => {
    await t.node.manager.pause(b.sandboxId);
    await t.node.manager.resume(b.sandboxId);
    assert.equal((await sh(sb, "id -u")).stdout.trim(), "0");
    const pin = join(t.dataDir, "userns", b.sandboxId);
    assert.ok(statSync(pin).isFile(), "the user namespace is pinned in the data dir");
  });
});
