// Sandboxes are denied the host's own networks, whatever their range: checked from inside real
// crun sandboxes against fake "LANs" this file creates (a veth whose host end holds an address of
// a documentation range outside the fixed private ones, as the host's real LAN here is, and a
// listener in a netns at the other end). Traffic goes only to those namespaces; before each probe
// the host's route to the target is checked to be our veth, so nothing can leave the machine.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { Sandbox } from "e2b";
import { nftCounters } from "../src/network/index.js";
import { connectSdk, ensureBaseTemplate, skipReason, startTestNode, type SdkConnection, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const execFileAsync = promisify(execFile);
const reason = skipReason();
if (reason) console.log(`# network-host: skipped: ${reason}`);

// Prefixes and pools no other suite uses; LAN names match no node prefix's netns or veth pattern.
const nodeA = suiteNetwork("node/network-host-a");
const nodeB = suiteNetwork("node/network-host-b");
const port = 8080;
/** The host's default poll is 5 s; this deadline only bounds a hang. */
const recomputeDeadlineMs = 60_000;

interface FakeLan {
  ns: string;
  hostIf: string;
  hostAddress: string;
  address: string;
  subnet: string;
}
const lanA: FakeLan = { ns: "hnlan-a", hostIf: "hnla", hostAddress: "198.51.100.1", address: "198.51.100.2", subnet: "198.51.100.0/24" };
const lanB: FakeLan = { ns: "hnlan-b", hostIf: "hnlb", hostAddress: "203.0.113.1", address: "203.0.113.2", subnet: "203.0.113.0/24" };

async function sh(...argv: string[]): Promise<string> {
  const [cmd, ...args] = argv;
  return (await execFileAsync(cmd ?? "false", args)).stdout;
}

/** Listener per LAN netns, killed by pid: a process inside a deleted netns would keep it and its veth alive. */
const listeners = new Map<string, ChildProcess>();
const serverJs = `require("node:net").createServer((s) => { s.on("error", () => {}); s.end("lan:" + s.remoteAddress); }).listen(${port}, process.argv[1], () => console.log("ready"));`;

async function removeLan(lan: FakeLan): Promise<void> {
  const child = listeners.get(lan.ns);
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(child.pid, "SIGKILL");
    await exited;
  }
  listeners.delete(lan.ns);
  // Deleting the netns takes its end of the veth, and so the host end, with it.
  await sh("ip", "netns", "del", lan.ns).catch(() => {});
  await sh("ip", "link", "del", lan.hostIf).catch(() => {});
}

/** A veth from the host netns into a fresh netns with a TCP listener at `lan.address`. */
async function createLan(lan: FakeLan): Promise<void> {
  await removeLan(lan); // leftovers of an interrupted run, by our own names
  await sh("ip", "netns", "add", lan.ns);
  await sh("ip", "link", "add", lan.hostIf, "type", "veth", "peer", "name", "eth0", "netns", lan.ns);
  await sh("ip", "addr", "add", `${lan.hostAddress}/24`, "dev", lan.hostIf);
  await sh("ip", "link", "set", lan.hostIf, "up");
  await sh("ip", "-n", lan.ns, "addr", "add", `${lan.address}/24`, "dev", "eth0");
  await sh("ip", "-n", lan.ns, "link", "set", "eth0", "up");
  await sh("ip", "-n", lan.ns, "link", "set", "lo", "up");
  const child = spawn("ip", ["netns", "exec", lan.ns, process.execPath, "-e", serverJs, lan.address], { stdio: ["ignore", "pipe", "inherit"] });
  listeners.set(lan.ns, child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => (String(d).includes("ready") ? resolve() : undefined));
    child.once("exit", (code) => reject(new Error(`listener in ${lan.ns} exited ${code}`)));
  });
  await assertRoutedToLan(lan);
  assert.equal(await hostConnect(lan.address), `lan:${lan.hostAddress}`, "sanity: the host reaches the fake LAN's listener");
}

/** The network rule of these tests: the target must be routed into our own veth, never out of the machine. */
async function assertRoutedToLan(lan: FakeLan): Promise<void> {
  const [route] = JSON.parse(await sh("ip", "-j", "route", "get", lan.address)) as Array<{ dev?: string }>;
  assert.equal(route?.dev, lan.hostIf, `${lan.address} must be routed into ${lan.hostIf}, not out of the machine`);
}

function hostConnect(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, timeout: 3000 });
    let body = "";
    s.on("data", (d) => (body += d));
    s.on("end", () => resolve(body));
    s.on("timeout", () => (s.destroy(), reject(new Error(`host → ${host}: timeout`))));
    s.on("error", reject);
  });
}

/** A TCP connect from inside the sandbox (as its unprivileged user); a drop shows as "timeout". */
async function probe(sandbox: Sandbox, lan: FakeLan): Promise<string> {
  await assertRoutedToLan(lan);
  const py = `
import socket
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("${lan.address}", ${port}))
    print("ok " + s.recv(100).decode())
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error " + str(e.errno))
`;
  const r = await sandbox.commands.run(`python3 -c '${py}'`, { user: "user", timeoutMs: 30_000 });
  return r.stdout.trim();
}

async function counter(prefix: string, name: string): Promise<number> {
  const doc = JSON.parse(await sh("nft", "-j", "list", "counter", "inet", `cove_${prefix}`, name)) as { nftables: Array<{ counter?: { packets: number } }> };
  const packets = doc.nftables.find((e) => e.counter)?.counter?.packets;
  assert.ok(packets !== undefined, `counter ${name} in cove_${prefix}`);
  return packets;
}

async function hostNetworkSet(prefix: string): Promise<string[]> {
  const doc = JSON.parse(await sh("nft", "-j", "list", "set", "inet", `cove_${prefix}`, "host_networks")) as {
    nftables: Array<{ set?: { elem?: Array<string | { prefix?: { addr: string; len: number } }> } }>;
  };
  return (doc.nftables.find((e) => e.set)?.set?.elem ?? []).map((e) => (typeof e === "string" ? `${e}/32` : `${e.prefix?.addr}/${e.prefix?.len}`));
}

async function waitForSet(prefix: string, subnet: string, present: boolean): Promise<void> {
  const deadline = Date.now() + recomputeDeadlineMs;
  while ((await hostNetworkSet(prefix)).includes(subnet) !== present) {
    assert.ok(Date.now() < deadline, `${subnet} ${present ? "added to" : "removed from"} host_networks of cove_${prefix} within ${recomputeDeadlineMs} ms`);
    await sleep(200);
  }
}

/** Probes and returns the result together with how much the host_network drop counter grew. */
async function probeCounted(prefix: string, sandbox: Sandbox, lan: FakeLan): Promise<{ result: string; drops: number }> {
  const before = await counter(prefix, nftCounters.hostNetwork);
  const result = await probe(sandbox, lan);
  return { result, drops: (await counter(prefix, nftCounters.hostNetwork)) - before };
}

describe("sandboxes are denied the host's own networks", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode | undefined;
  const open: SdkConnection[] = [];

  async function sandboxOn(node: TestNode): Promise<Sandbox> {
    const info = await node.node.manager.create({ templateId: "base", timeoutMs: 300_000, cpuCount: 1, allowInternetAccess: true });
    const c = await connectSdk(info);
    open.push(c);
    return c.sandbox;
  }

  async function closeNode(): Promise<void> {
    for (const c of open.splice(0)) await c.close();
    await t?.close();
    t = undefined;
  }

  before(async () => {
    await ensureBaseTemplate();
    await createLan(lanA);
  });

  after(async () => {
    try {
      await closeNode();
    } finally {
      await removeLan(lanA);
      await removeLan(lanB);
    }
  });

  it("a LAN of the host outside the fixed private ranges is dropped, with the host_network counter", async () => {
    t = await startTestNode(nodeA);
    const sandbox = await sandboxOn(t);
    assert.ok((await hostNetworkSet(nodeA.prefix)).includes(lanA.subnet), "the LAN is in the set from the start");
    assert.ok(!(await hostNetworkSet(nodeA.prefix)).some((c) => c.startsWith("10.211.9.")), "the pool's own veths are not");
    const { result, drops } = await probeCounted(nodeA.prefix, sandbox, lanA);
    assert.equal(result, "timeout");
    assert.ok(drops >= 1, `host_network grew by ${drops}`);
  });

  it("a LAN that appears after the node started is dropped once the poll has seen it", async () => {
    assert.ok(t, "the node of the previous test");
    const sandbox = open[0]?.sandbox;
    assert.ok(sandbox);
    await createLan(lanB);
    await waitForSet(nodeA.prefix, lanB.subnet, true);
    const { result, drops } = await probeCounted(nodeA.prefix, sandbox, lanB);
    assert.equal(result, "timeout");
    assert.ok(drops >= 1, `host_network grew by ${drops}`);
  });

  it("COVE_SANDBOX_ALLOW_CIDRS reopens a host LAN; the others stay denied; a LAN that goes leaves the set", async () => {
    await closeNode();
    t = await startTestNode({ ...nodeB, allowedCidrs: [lanA.subnet] });
    const sandbox = await sandboxOn(t);
    const allowed = await probeCounted(nodeB.prefix, sandbox, lanA);
    assert.equal(allowed.result, `ok lan:${lanA.hostAddress}`, "masqueraded to the host end of the LAN's veth");
    assert.equal(allowed.drops, 0);
    const denied = await probeCounted(nodeB.prefix, sandbox, lanB);
    assert.equal(denied.result, "timeout");
    assert.ok(denied.drops >= 1, `host_network grew by ${denied.drops}`);
    await removeLan(lanB);
    await waitForSet(nodeB.prefix, lanB.subnet, false);
  });
});
