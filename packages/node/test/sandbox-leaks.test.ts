// Create and kill 50 real sandboxes; afterwards nothing of theirs remains on
// the host: mounts, netns, veths, nft elements, cgroups, processes, files.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { mountsUnder, readMounts } from "../src/storage/mountinfo.js";
import { connectSdk, skipReason, startTestNode, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# sandbox-leaks: skipped: ${reason}`);

const { prefix, cidr } = suiteNetwork("node/sandbox-leaks");

function netnsOfPrefix(): string[] {
  return existsSync("/var/run/netns") ? readdirSync("/var/run/netns").filter((n) => n.startsWith(`${prefix}-`)) : [];
}

function linksOfPrefix(): string[] {
  const out = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => new RegExp(`^${prefix}\\d+$`).test(n));
}

/** Elements of every set in our nft table (empty sets print `elements = { }` or nothing). */
function nftElements(): string {
  try {
    const text = execFileSync("nft", ["list", "table", "inet", `cove_${prefix}`], { encoding: "utf8" });
    return [...text.matchAll(/set (\w+) \{[^}]*?elements = \{([^}]*)\}/gs)]
      .filter((m) => ["ifs", "internet"].includes(m[1]!))
      .map((m) => m[2]!.trim())
      .filter(Boolean)
      .join(",");
  } catch {
    return "";
  }
}

/** Sandbox cgroups left under the node's parent, in any hierarchy. */
function cgroupChildren(parent: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", entry, parent);
    if (!existsSync(dir)) continue;
    for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) out.push(join(dir, child.name));
  }
  if (existsSync(join("/sys/fs/cgroup", parent, "cgroup.procs"))) {
    for (const child of readdirSync(join("/sys/fs/cgroup", parent), { withFileTypes: true })) if (child.isDirectory()) out.push(child.name);
  }
  return out;
}

describe("no leaks after 50 sandboxes", { skip: reason, timeout: 900_000 }, () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ prefix, cidr });
  });
  after(async () => {
    await t?.close();
  });

  it("create and kill 50 sandboxes (5 at a time); nothing remains", async () => {
    const manager = t.node.manager;
    let count = 0;
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => manager.create({ templateId: "base", timeoutMs: 60_000 })));
      count += batch.length;
      // One sandbox per round runs a command through envd, so they are really alive.
      const sdk = await connectSdk(batch[0]!);
      const r = await sdk.sandbox.commands.run("sleep 1000 >/dev/null 2>&1 & cat /proc/1/comm");
      await sdk.close();
      assert.match(r.stdout, /tini/);
      assert.equal(manager.list().length, 5);
      for (const s of batch) {
        const dir = join(t.dataDir, "sandboxes", s.sandboxId);
        assert.ok(existsSync(dir));
      }
      await Promise.all(batch.map((s) => manager.kill(s.sandboxId)));
    }
    assert.equal(count, 50);
    assert.equal(manager.list().length, 0);
    assert.deepEqual(
      mountsUnder(await readMounts(), t.dataDir)
        .map((m) => m.mountPoint)
        .filter((p) => p.includes("/sandboxes/")),
      [],
      "no overlay mounts",
    );
    assert.deepEqual(readdirSync(join(t.dataDir, "sandboxes")), [], "no sandbox dirs");
    assert.deepEqual(netnsOfPrefix(), [], "no netns");
    assert.deepEqual(linksOfPrefix(), [], "no veths");
    assert.equal(nftElements(), "", "no nft set elements");
    assert.deepEqual(cgroupChildren(t.node.cgroupParent), [], "no sandbox cgroups");
    assert.deepEqual(processesIn(t.node.cgroupParent), [], "no processes in the node's cgroups");
    assert.equal((await t.node.sandboxRuntime.list()).length, 0, "the runtime knows no containers");
  });
});

/** Pids of host processes whose cgroup lies under `parent`. */
function processesIn(parent: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cgroup`, "utf8").includes(`/${parent}/`)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}
