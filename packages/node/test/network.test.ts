// Real netns, veth and nftables: the isolation matrix of sandbox networking.
// Traffic goes only to loopback or into network namespaces this file creates (sandboxes and a
// fake "upstream"); never to an outside address. Blocked paths are shown by timed-out connects
// plus the nft drop counters. Everything is named with a random prefix and removed in `after`.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { NodeError } from "../src/errors.js";
import { slotAddresses, parseCidr } from "../src/network/cidr.js";
import { createNetworkManager, nftCounters, type NetworkManager, type NetworkOptions, type SandboxNetwork } from "../src/network/index.js";

const execFileAsync = promisify(execFile);
const nodeBin = process.execPath;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for netns, veth and nftables";
  for (const bin of ["/usr/sbin/ip", "/usr/sbin/nft", "/usr/bin/nsenter", "/usr/sbin/sysctl"]) if (!existsSync(bin)) return `${bin} missing`;
  return undefined;
}

// Prefixes end with a letter; the three managers' names never overlap.
const letters = "abcdefghijklmnopqrstuvwxyz";
const prefix = `ct${[0, 1, 2].map(() => letters[randomInt(26)]).join("")}`;
const p1 = prefix; // allowedCidrs = the upstream
const p2 = `${prefix}d`; // no allowedCidrs, upstream as its DNS server
const p3 = `${prefix}e`; // a two-slot pool
const upNs = `${prefix}up`; // not `${prefix}-…`, so no manager of ours may take it for an orphan
const upIf = `${prefix}up`;
const upHost = "10.214.0.1";
const upAddr = "10.214.0.2";
const port = 8080;
const echoPort = 7;
const dnsPort = 53;

async function sh(...argv: string[]): Promise<string> {
  const [cmd, ...args] = argv;
  return (await execFileAsync(cmd ?? "false", args)).stdout;
}

const serverJs = `
const net = require("node:net");
const [host, echo, ...ports] = process.argv.slice(1);
let up = 0;
for (const p of [echo, ...ports].map(Number)) {
  net.createServer((s) => {
    s.on("error", () => {}); // a peer whose netns was deleted resets; the listener must live on
    if (p === Number(echo)) return void s.pipe(s);
    s.end(JSON.stringify({ from: s.remoteAddress, port: p }));
  }).listen(p, host, () => { if (++up === ports.length + 1) console.log("ready"); });
}`;

const clientJs = `
const net = require("node:net");
const [host, port, timeout, localAddress, hold] = process.argv.slice(1);
const done = (r) => { console.log(JSON.stringify(r)); process.exit(0); };
const s = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });
const timer = setTimeout(() => done({ ok: false, error: "timeout" }), Number(timeout));
s.on("error", (e) => done({ ok: false, error: e.code }));
if (hold) {
  // One "ping" per stdin line; prints whether it came back within the timeout.
  s.on("connect", () => {
    clearTimeout(timer);
    console.log("connected");
    require("node:readline").createInterface({ input: process.stdin }).on("line", () => {
      s.write("ping");
      const t = setTimeout(() => console.log("lost"), Number(timeout));
      s.once("data", () => { clearTimeout(t); console.log("echoed"); });
    }).on("close", () => process.exit(0));
  });
} else {
  let body = "";
  s.on("data", (d) => (body += d));
  s.on("end", () => { clearTimeout(timer); done({ ok: true, body }); });
}`;

type ConnectResult = { ok: true; body: string } | { ok: false; error: string };

/** A TCP connect from inside a netns; drops show up as "timeout". */
async function connectFrom(ns: string, host: string, p: number, opts: { timeoutMs?: number; localAddress?: string } = {}): Promise<ConnectResult> {
  const out = await sh("ip", "netns", "exec", ns, nodeBin, "-e", clientJs, host, String(p), String(opts.timeoutMs ?? 700), opts.localAddress ?? "");
  return JSON.parse(out) as ConnectResult;
}

function fromOf(r: ConnectResult): string | undefined {
  return r.ok ? (JSON.parse(r.body) as { from: string }).from : undefined;
}

const servers: ChildProcess[] = [];
/** A listener on `ports` (+ an echo port) inside a netns; killed by pid in `after`. */
async function startServer(ns: string, host: string, ports: number[]): Promise<void> {
  const child = spawn("ip", ["netns", "exec", ns, nodeBin, "-e", serverJs, host, String(echoPort), ...ports.map(String)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => (String(d).includes("ready") ? resolve() : undefined));
    child.once("exit", (code) => reject(new Error(`server in ${ns} exited ${code}`)));
  });
}

function hostConnect(host: string, p: number, timeoutMs = 2000): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const s = connect({ host, port: p });
    let body = "";
    const timer = setTimeout(() => (s.destroy(), resolve({ ok: false, error: "timeout" })), timeoutMs);
    s.on("data", (d) => (body += d));
    s.on("end", () => (clearTimeout(timer), resolve({ ok: true, body })));
    s.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve({ ok: false, error: e.code ?? "error" })));
  });
}

async function counter(p: string, name: string): Promise<number> {
  const doc = JSON.parse(await sh("nft", "-j", "list", "counter", "inet", `cove_${p}`, name)) as { nftables: Array<{ counter?: { packets: number } }> };
  return doc.nftables.find((e) => e.counter)?.counter?.packets ?? -1;
}

/** Runs `fn` and returns how much the named drop counter grew meanwhile. */
async function counted(p: string, name: string, fn: () => Promise<unknown>): Promise<number> {
  const before = await counter(p, name);
  await fn();
  return (await counter(p, name)) - before;
}

async function setElements(p: string, set: string): Promise<string[]> {
  const doc = JSON.parse(await sh("nft", "-j", "list", "set", "inet", `cove_${p}`, set)) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  return (doc.nftables.find((e) => e.set)?.set?.elem ?? []).map((e) => (typeof e === "string" ? e : JSON.stringify(e)));
}

const ourNetns = async () =>
  (await sh("ip", "netns", "list"))
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(prefix));
const ourLinks = async () =>
  (JSON.parse(await sh("ip", "-j", "link", "show")) as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => n.startsWith(prefix));
const blocked = (r: ConnectResult) => !r.ok && r.error === "timeout";
const isCode = (code: string) => (e: unknown) => e instanceof NodeError && e.code === code;

describe("sandbox networking (netns, veth, nftables)", { skip: skipReason() }, () => {
  const forwardPath = "/proc/sys/net/ipv4/ip_forward";
  let forwardBefore = "0";
  const opts1: Partial<NetworkOptions> = { prefix: p1, pool: "10.213.0.0/24", allowedCidrs: [`${upAddr}/32`], dnsServers: ["192.0.2.53"] };
  let m1: NetworkManager;
  let m2: NetworkManager;
  let a: SandboxNetwork;
  let b: SandboxNetwork;
  let hostServer: Server | undefined;

  before(async () => {
    forwardBefore = readFileSync(forwardPath, "utf8").trim();
    const logged: string[] = [];
    m1 = createNetworkManager({ ...opts1, logger: { info: (_o, msg) => logged.push(msg ?? ""), warn: (_o, msg) => logged.push(msg ?? "") } });
    m2 = createNetworkManager({ prefix: p2, pool: "10.213.1.0/24", dnsServers: [upAddr] });
    await m1.init();
    await m2.init();
    assert.equal(readFileSync(forwardPath, "utf8").trim(), "1");
    if (forwardBefore !== "1")
      assert.ok(
        logged.some((m) => m.includes("ip_forward")),
        "enabling ip_forward is logged",
      );
    assert.ok(logged.includes("sandboxes are denied the host's own networks"), "the host-network list is logged at start");
    // The fake upstream: its own veth from the host netns, as an outside network would be.
    await sh("ip", "netns", "add", upNs);
    await sh("ip", "link", "add", upIf, "type", "veth", "peer", "name", "eth0", "netns", upNs);
    await sh("ip", "addr", "add", `${upHost}/30`, "dev", upIf);
    await sh("ip", "link", "set", upIf, "up");
    await sh("ip", "-n", upNs, "addr", "add", `${upAddr}/30`, "dev", "eth0");
    await sh("ip", "-n", upNs, "link", "set", "eth0", "up");
    await sh("ip", "-n", upNs, "link", "set", "lo", "up");
    await startServer(upNs, upAddr, [port, dnsPort]);
  });

  after(async () => {
    for (const s of servers) if (s.pid !== undefined && s.exitCode === null) process.kill(s.pid, "SIGKILL");
    hostServer?.close();
    // By name only: everything this file made starts with its random prefix.
    for (const ns of await ourNetns()) await sh("ip", "netns", "del", ns).catch(() => {});
    for (const link of await ourLinks()) await sh("ip", "link", "del", link).catch(() => {});
    for (const p of [p1, p2, p3]) await sh("nft", "delete", "table", "inet", `cove_${p}`).catch(() => {});
    // Put ip_forward back only if no other cove table (another node or suite on this host) needs it.
    const others = (await sh("nft", "list", "tables")).split("\n").filter((l) => / cove_/.test(l));
    if (forwardBefore !== "1" && others.length === 0) writeFileSync(forwardPath, forwardBefore);
  });

  it("1. setup: the host reaches a listener in the sandbox over the veth", async () => {
    const t0 = performance.now();
    a = await m1.setup("sa", { internet: true });
    console.log("# setup ms", (performance.now() - t0).toFixed(1));
    assert.deepEqual(
      { ...a },
      {
        sandboxId: "sa",
        index: 0,
        netnsName: `${p1}-sa`,
        netnsPath: `/var/run/netns/${p1}-sa`,
        hostIf: `${p1}0`,
        hostAddress: "10.213.0.1",
        sandboxAddress: "10.213.0.2",
        internet: true,
      },
    );
    assert.ok(existsSync(a.netnsPath));
    assert.match(await sh("ip", "-n", a.netnsName, "-4", "addr", "show", "dev", "eth0"), /inet 10\.213\.0\.2\/30/);
    assert.match(await sh("ip", "-n", a.netnsName, "route"), /default via 10\.213\.0\.1 dev eth0/);
    assert.match(await sh("ip", "-n", a.netnsName, "link", "show", "lo"), /state UNKNOWN|LOWER_UP/);
    // No IPv6 on either end of the veth; lo keeps ::1 for programs that resolve localhost to it.
    assert.equal((await sh("nsenter", `--net=${a.netnsPath}`, "sysctl", "-n", "net.ipv6.conf.eth0.disable_ipv6")).trim(), "1");
    assert.equal(readFileSync(`/proc/sys/net/ipv6/conf/${a.hostIf}/disable_ipv6`, "utf8").trim(), "1");
    assert.equal((await sh("ip", "-n", a.netnsName, "-6", "addr", "show", "dev", "eth0")).trim(), "");
    assert.equal(readFileSync(`/sys/class/net/${a.hostIf}/ifalias`, "utf8").trim(), "sa");
    assert.deepEqual(await setElements(p1, "ifs"), [a.hostIf]);
    assert.deepEqual(await setElements(p1, "internet"), [a.hostIf]);

    await startServer(a.netnsName, a.sandboxAddress, [port]);
    const r = await hostConnect(a.sandboxAddress, port);
    assert.equal(fromOf(r), a.hostAddress, JSON.stringify(r));
  });

  it("2. a sandbox cannot reach another sandbox", async () => {
    b = await m1.setup("sb", { internet: true });
    assert.equal(b.sandboxAddress, "10.213.0.6");
    await startServer(b.netnsName, b.sandboxAddress, [port]);
    assert.equal(fromOf(await hostConnect(b.sandboxAddress, port)), b.hostAddress);
    let r: ConnectResult | undefined;
    const drops = await counted(p1, nftCounters.sandboxToSandbox, async () => (r = await connectFrom(a.netnsName, b.sandboxAddress, port)));
    assert.ok(r && blocked(r), JSON.stringify(r));
    assert.ok(drops >= 1, `sandbox_to_sandbox grew by ${drops}`);
  });

  it("3. a sandbox cannot reach host services on any host address", async () => {
    hostServer = createServer((s) => s.end("host"));
    await new Promise<void>((resolve) => hostServer?.listen(0, "0.0.0.0", resolve));
    const hostPort = (hostServer.address() as AddressInfo).port;
    assert.deepEqual(await hostConnect("127.0.0.1", hostPort), { ok: true, body: "host" }, "the host listener is up");
    for (const target of [a.hostAddress, b.hostAddress, upHost]) {
      let r: ConnectResult | undefined;
      const drops = await counted(p1, nftCounters.toHost, async () => (r = await connectFrom(a.netnsName, target, hostPort)));
      assert.ok(r && blocked(r), `${target}: ${JSON.stringify(r)}`);
      assert.ok(drops >= 1, `${target}: to_host grew by ${drops}`);
    }
    // Port 53 of a host address is not an exception: only the configured resolvers are.
    assert.ok(blocked(await connectFrom(a.netnsName, a.hostAddress, dnsPort)));
  });

  it("4. outbound NAT with internet on; off blocks; setInternet switches; denied without an exception", async () => {
    const r = await connectFrom(a.netnsName, upAddr, port, { timeoutMs: 3000 });
    assert.equal(fromOf(r), upHost, `masqueraded to the host side of the uplink: ${JSON.stringify(r)}`);

    const c = await m1.setup("sc", { internet: false });
    let off: ConnectResult | undefined;
    const offDrops = await counted(p1, nftCounters.internetOff, async () => (off = await connectFrom(c.netnsName, upAddr, port)));
    assert.ok(off && blocked(off), JSON.stringify(off));
    assert.ok(offDrops >= 1);
    await m1.setInternet("sc", true);
    assert.equal(fromOf(await connectFrom(c.netnsName, upAddr, port, { timeoutMs: 3000 })), upHost);
    await m1.setInternet("sc", false);
    assert.ok(blocked(await connectFrom(c.netnsName, upAddr, port)));
    await assert.rejects(m1.setInternet("nope", true), isCode("not_found"));
    await m1.teardown(c);

    // Without the exception the upstream is just a private address; DNS to it is the one way through.
    const e = await m2.setup("se", { internet: true });
    let denied: ConnectResult | undefined;
    const deniedDrops = await counted(p2, nftCounters.denied, async () => (denied = await connectFrom(e.netnsName, upAddr, port)));
    assert.ok(denied && blocked(denied), JSON.stringify(denied));
    assert.ok(deniedDrops >= 1);
    assert.equal(fromOf(await connectFrom(e.netnsName, upAddr, dnsPort, { timeoutMs: 3000 })), upHost, "tcp/53 to the configured DNS server");
    await m2.setInternet("se", false);
    assert.ok(blocked(await connectFrom(e.netnsName, upAddr, dnsPort)), "no DNS with internet off");
    await m2.teardown(e);
  });

  it("4b. turning internet off stops a connection that is already open", async () => {
    const d = await m1.setup("sd", { internet: true });
    try {
      const child = spawn("ip", ["netns", "exec", d.netnsName, nodeBin, "-e", clientJs, upAddr, String(echoPort), "800", "", "hold"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      servers.push(child);
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => (out += String(chunk)));
      const waitFor = async (text: string) => {
        const deadline = Date.now() + 5000;
        while (!out.includes(text)) {
          assert.ok(child.exitCode === null && Date.now() < deadline, `waiting for ${text}: ${out}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await waitFor("connected");
      child.stdin?.write("1\n");
      await waitFor("echoed");
      await m1.setInternet("sd", false);
      child.stdin?.write("2\n");
      await waitFor("lost");
      child.stdin?.end();
    } finally {
      await m1.teardown(d);
    }
  });

  it("4c. a sandbox cannot send with another sandbox's source address", async () => {
    // Only root with CAP_NET_ADMIN inside the netns can do this; sandboxes have neither, but the rule holds anyway.
    await sh("ip", "-n", a.netnsName, "addr", "add", `${b.sandboxAddress}/32`, "dev", "eth0");
    try {
      let r: ConnectResult | undefined;
      const drops = await counted(p1, nftCounters.spoofed, async () => (r = await connectFrom(a.netnsName, upAddr, port, { localAddress: b.sandboxAddress })));
      assert.ok(r && blocked(r), JSON.stringify(r));
      assert.ok(drops >= 1);
    } finally {
      await sh("ip", "-n", a.netnsName, "addr", "del", `${b.sandboxAddress}/32`, "dev", "eth0");
    }
  });

  it("5. teardown is complete and idempotent; 20 cycles leave nothing", async () => {
    const setupMs: number[] = [];
    const teardownMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      let t = performance.now();
      const n = await m1.setup(`cycle${i}`, { internet: i % 2 === 0 });
      setupMs.push(performance.now() - t);
      t = performance.now();
      await m1.teardown(n);
      teardownMs.push(performance.now() - t);
      assert.ok(!existsSync(n.netnsPath), n.netnsName);
      assert.ok(!existsSync(`/sys/class/net/${n.hostIf}`), n.hostIf);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]?.toFixed(1);
    console.log("# setup ms median", median(setupMs), "max", Math.max(...setupMs).toFixed(1));
    console.log("# teardown ms median", median(teardownMs), "max", Math.max(...teardownMs).toFixed(1));
    assert.deepEqual((await ourNetns()).sort(), [upNs, a.netnsName, b.netnsName].sort());
    assert.deepEqual((await ourLinks()).sort(), [a.hostIf, b.hostIf, upIf].sort());
    for (const set of ["ifs", "sources"]) assert.equal((await setElements(p1, set)).length, 2, set);
    assert.deepEqual((await setElements(p1, "internet")).sort(), [a.hostIf, b.hostIf].sort());

    // Half-created state (a netns without its veth) and a second teardown of the same network.
    const { hostAddress, sandboxAddress } = slotAddresses(parseCidr("10.213.0.0/24"), 40);
    const half: SandboxNetwork = {
      sandboxId: "half",
      index: 40,
      netnsName: `${p1}-half`,
      netnsPath: `/var/run/netns/${p1}-half`,
      hostIf: `${p1}40`,
      hostAddress,
      sandboxAddress,
      internet: false,
    };
    await sh("ip", "netns", "add", half.netnsName);
    await m1.teardown(half);
    await m1.teardown(half);
    assert.ok(!existsSync(half.netnsPath));
    await assert.rejects(m1.teardown({ ...half, hostIf: "eth0" }), isCode("invalid_argument"));
  });

  it("5b. after a crash: init keeps live sandboxes filtered, adopt, cleanupOrphans", async () => {
    await m1.setup("orphan", { internet: true });
    // A veth with our name but no alias, as a setup that died between `link add` and `alias`.
    await sh("ip", "link", "add", `${p1}50`, "type", "veth", "peer", "name", `${p1}50p`);
    // "Restart": a new manager on the same prefix; the old one is dropped (its poll dies with it, as in a crash).
    await m1.close();
    const restarted = createNetworkManager(opts1);
    await restarted.init();
    assert.deepEqual((await setElements(p1, "ifs")).length, 3, "live elements survive the table replace");
    assert.ok(blocked(await connectFrom(a.netnsName, b.sandboxAddress, port)), "still isolated right after init");
    await restarted.adopt(a);
    await restarted.adopt(b);
    const t0 = performance.now();
    const removed = await restarted.cleanupOrphans(new Set(["sa", "sb"]));
    console.log("# cleanupOrphans ms", (performance.now() - t0).toFixed(1));
    assert.deepEqual(removed.sort(), [`${p1}-orphan`, `${p1}50`].sort());
    assert.deepEqual((await ourNetns()).sort(), [upNs, a.netnsName, b.netnsName].sort());
    assert.deepEqual((await ourLinks()).sort(), [a.hostIf, b.hostIf, upIf].sort());
    assert.deepEqual((await setElements(p1, "ifs")).sort(), [a.hostIf, b.hostIf].sort());
    assert.deepEqual(await restarted.cleanupOrphans(new Set(["sa", "sb"])), []);
    assert.equal(fromOf(await hostConnect(a.sandboxAddress, port)), a.hostAddress, "the adopted sandbox still works");
    assert.equal(fromOf(await connectFrom(a.netnsName, upAddr, port, { timeoutMs: 3000 })), upHost);
    await assert.rejects(restarted.adopt({ ...a, sandboxId: "sz", netnsName: `${p1}-sz`, netnsPath: `/var/run/netns/${p1}-sz` }), isCode("not_found"));
    m1 = restarted;
  });

  it("6. setup errors: bad id, duplicate, existing netns, taken slot, exhausted pool", async () => {
    await assert.rejects(m1.setup("Bad_Id", { internet: false }), isCode("invalid_argument"));
    await assert.rejects(m1.setup("sa", { internet: false }), isCode("invalid_argument"));
    await sh("ip", "netns", "add", `${p1}-taken`);
    await assert.rejects(m1.setup("taken", { internet: false }), isCode("runtime_failed"));
    assert.ok(existsSync(`/var/run/netns/${p1}-taken`), "someone else's netns is left alone");
    await sh("ip", "netns", "del", `${p1}-taken`);

    const pinned = await m1.setup("pinned", { internet: false, index: 7 });
    assert.equal(pinned.sandboxAddress, "10.213.0.30");
    await assert.rejects(m1.setup("pinned2", { internet: false, index: 7 }), isCode("invalid_argument"));
    await assert.rejects(m1.setup("pinned3", { internet: false, index: 64 }), isCode("invalid_argument"));
    await m1.teardown(pinned);

    const m3 = createNetworkManager({ prefix: p3, pool: "10.213.2.0/29", dnsServers: [upAddr] });
    await m3.init();
    const x = await m3.setup("x", { internet: false });
    const y = await m3.setup("y", { internet: false });
    await assert.rejects(m3.setup("z", { internet: false }), isCode("unavailable"));
    await m3.teardown(x);
    await m3.teardown(y);
    await m3.destroy();
    // A step after `ip -batch` fails (no table for the elements): what was made is removed again.
    await assert.rejects(m3.setup("w", { internet: true }), isCode("runtime_failed"));
    assert.ok(!existsSync(`/var/run/netns/${p3}-w`));
    assert.deepEqual(
      (await ourLinks()).filter((l) => l.startsWith(p3)),
      [],
    );
  });

  it("7. teardown of the last sandboxes and destroy leave nothing", async () => {
    await m1.teardown(a);
    await m1.teardown(b);
    await m1.destroy();
    await m2.destroy();
    await m2.destroy();
    const tables = await sh("nft", "list", "tables");
    for (const p of [p1, p2, p3]) assert.doesNotMatch(tables, new RegExp(`cove_${p}\\b`));
    assert.deepEqual(await ourNetns(), [upNs]);
    assert.deepEqual(await ourLinks(), [upIf]);
  });
});
