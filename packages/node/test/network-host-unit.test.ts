// Pure parts of denying sandboxes the host's own networks: CIDR merging, reading the interface
// table, the rendered set and rule, and the poll's change/failure/stop behaviour. No root.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cidrCovers, formatCidr, mergeCidrs, networkOf, parseCidr, parseIpv4 } from "../src/network/cidr.js";
import { createHostNetworkWatch, hostNetworks, parseIpAddrJson } from "../src/network/host-networks.js";
import { nftCounters, renderHostNetworks, renderTable } from "../src/network/nft-rules.js";
import { defaultDeniedCidrs, resolveNetworkOptions } from "../src/network/options.js";

const merged = (...cidrs: string[]) => mergeCidrs(cidrs.map((c) => parseCidr(c))).map(formatCidr);

describe("cidr merging", () => {
  it("networkOf and cidrCovers", () => {
    assert.equal(formatCidr(networkOf(parseIpv4("192.0.2.77") ?? 0, 24)), "192.0.2.0/24");
    assert.equal(formatCidr(networkOf(parseIpv4("192.0.2.77") ?? 0, 0)), "0.0.0.0/0");
    assert.equal(formatCidr(networkOf(parseIpv4("192.0.2.77") ?? 0, 32)), "192.0.2.77/32");
    assert.ok(cidrCovers(parseCidr("10.0.0.0/8"), parseCidr("10.1.0.0/16")));
    assert.ok(cidrCovers(parseCidr("10.1.0.0/16"), parseCidr("10.1.0.0/16")));
    assert.ok(!cidrCovers(parseCidr("10.1.0.0/16"), parseCidr("10.0.0.0/8")));
    assert.ok(!cidrCovers(parseCidr("10.1.0.0/16"), parseCidr("10.2.0.0/16")));
  });

  it("drops duplicates and contained prefixes, joins siblings, never overlaps", () => {
    const table: Array<[string[], string[]]> = [
      [[], []],
      [["198.51.100.0/24", "198.51.100.0/24"], ["198.51.100.0/24"]],
      [["198.51.100.7/32", "198.51.100.0/24", "198.51.100.1/32"], ["198.51.100.0/24"]],
      [["198.51.100.0/25", "198.51.100.128/25"], ["198.51.100.0/24"]],
      // Siblings join upwards twice: two /26 make a /25, which joins the other /25.
      [["198.51.100.128/25", "198.51.100.0/26", "198.51.100.64/26"], ["198.51.100.0/24"]],
      // Adjacent but not siblings: 198.51.100.128/25 and 198.51.101.0/25 share no parent /24.
      [
        ["198.51.101.0/25", "198.51.100.128/25"],
        ["198.51.100.128/25", "198.51.101.0/25"],
      ],
      [["203.0.113.9/32", "192.0.2.0/24", "192.0.2.2/32", "0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/0"]],
      [
        ["203.0.113.9/32", "192.0.2.2/32"],
        ["192.0.2.2/32", "203.0.113.9/32"],
      ],
    ];
    for (const [input, expected] of table) assert.deepEqual(merged(...input), expected, input.join(" "));
  });
});

describe("host networks", () => {
  // The shape of `ip -4 -j addr show`, trimmed: links without IPv4 have an empty addr_info.
  const ipJson = JSON.stringify([
    { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
    {
      ifname: "eth0",
      addr_info: [
        { family: "inet", local: "192.0.2.2", prefixlen: 24 },
        { family: "inet", local: "198.51.100.9", prefixlen: 32 },
        { family: "inet6", local: "2001:db8::2", prefixlen: 64 },
      ],
    },
    { ifname: "wlan0", addr_info: [{ family: "inet", local: "192.0.2.3", prefixlen: 24 }] },
    { ifname: "docker0", addr_info: [{ family: "inet", local: "172.17.0.1", prefixlen: 16 }] },
    // A sandbox veth of this node, and one of another node's pool (inside 10/8).
    { ifname: "cv0", addr_info: [{ family: "inet", local: "10.201.0.1", prefixlen: 30 }] },
    { ifname: "ct2", addr_info: [{ family: "inet", local: "10.211.3.5", prefixlen: 30 }] },
    { ifname: "cgnat0", addr_info: [{ family: "inet", local: "100.100.0.1", prefixlen: 24 }] },
    { ifname: "tun0", addr_info: [{ family: "inet", local: "203.0.113.50", prefixlen: 32 }] },
    { ifname: "bond0", addr_info: [] },
    {
      ifname: "odd",
      addr_info: [
        { family: "inet", local: "300.1.1.1", prefixlen: 24 },
        { family: "inet", local: "203.0.113.60" },
      ],
    },
    {},
  ]);

  it("parses ip -4 -j addr show", () => {
    const addrs = parseIpAddrJson(ipJson);
    assert.deepEqual(addrs.slice(0, 3), [
      { address: "127.0.0.1", prefixLength: 8 },
      { address: "192.0.2.2", prefixLength: 24 },
      { address: "198.51.100.9", prefixLength: 32 },
    ]);
    assert.equal(addrs.length, 10, "IPv6 and entries without a prefix length are skipped");
    assert.deepEqual(parseIpAddrJson("{}"), []);
  });

  it("keeps every IPv4 address and interface network outside the denied ranges, merged", () => {
    const denied = resolveNetworkOptions({ dnsServers: ["192.0.2.53"] }).deniedCidrs;
    assert.deepEqual(hostNetworks(parseIpAddrJson(ipJson), denied), ["192.0.2.0/24", "198.51.100.9/32", "203.0.113.50/32"]);
  });

  it("the sandbox pool is never listed, even when the fixed ranges are not denied", () => {
    const o = resolveNetworkOptions({ pool: "100.100.0.0/24", deniedCidrs: [], dnsServers: ["192.0.2.53"] });
    assert.deepEqual(hostNetworks([...parseIpAddrJson(ipJson), { address: "100.100.0.37", prefixLength: 30 }], o.deniedCidrs), [
      "10.201.0.0/30",
      "10.211.3.4/30",
      "127.0.0.0/8",
      "172.17.0.0/16",
      "192.0.2.0/24",
      "198.51.100.9/32",
      "203.0.113.50/32",
    ]);
    assert.ok(defaultDeniedCidrs.includes("127.0.0.0/8"));
  });
});

describe("host networks in nft", () => {
  const o = resolveNetworkOptions({ prefix: "cv", allowedCidrs: ["192.0.2.80/32"], dnsServers: ["192.0.2.53"] });
  const text = renderTable(o, { ifs: [], internet: [], sources: [] }, ["192.0.2.0/24", "198.51.100.9/32"]);

  it("an interval set with a named counter on its drop", () => {
    assert.match(
      text,
      /set host_networks \{\n {4}type ipv4_addr\n {4}flags interval\n {4}auto-merge\n {4}elements = \{ 192\.0\.2\.0\/24, 198\.51\.100\.9\/32 \}/,
    );
    assert.match(text, /counter host_network \{/);
    assert.equal(nftCounters.hostNetwork, "host_network");
    assert.match(text, /ip daddr @host_networks counter name "host_network" drop/);
  });

  it("DNS and the operator's exceptions win; the drop comes before the internet accept", () => {
    const out = text.slice(text.indexOf("chain sandbox_out"));
    const order = ["!= @internet", "@dns", "@allowed", "@denied", "@host_networks", "    accept\n  }"];
    const at = order.map((s) => out.indexOf(s));
    assert.ok(
      at.every((p, i) => p >= 0 && (i === 0 || p > (at[i - 1] ?? 0))),
      `order ${at.join(",")}`,
    );
  });

  it("replaces the set in one transaction", () => {
    assert.equal(
      renderHostNetworks("cove_cv", ["192.0.2.0/24", "198.51.100.9/32"]),
      "flush set inet cove_cv host_networks\nadd element inet cove_cv host_networks { 192.0.2.0/24, 198.51.100.9/32 }\n",
    );
    assert.equal(renderHostNetworks("cove_cv", []), "flush set inet cove_cv host_networks\n");
  });
});

describe("host network poll", () => {
  function harness(initial: string[]) {
    const state = { nets: initial, fail: false, applied: [] as string[][], logs: [] as Array<{ level: string; msg: string; obj: object }> };
    const watch = createHostNetworkWatch({
      read: () => Promise.resolve(state.nets),
      apply: async (cidrs) => {
        await sleep(1);
        if (state.fail) throw new Error("nft: no such table");
        state.applied.push(cidrs);
      },
      intervalMs: 10,
      logger: {
        info: (obj, msg) => state.logs.push({ level: "info", msg: msg ?? "", obj }),
        warn: (obj, msg) => state.logs.push({ level: "warn", msg: msg ?? "", obj }),
      },
    });
    return { state, watch };
  }

  it("writes only on change, logs the new list, and retries after a failure", async () => {
    const { state, watch } = harness(["192.0.2.0/24"]);
    watch.start(["192.0.2.0/24"]);
    await watch.check();
    assert.deepEqual(state.applied, [], "unchanged: nothing written");
    state.nets = ["192.0.2.0/24", "198.51.100.0/24"];
    state.fail = true;
    await watch.check();
    assert.deepEqual(state.applied, []);
    assert.equal(state.logs.at(-1)?.level, "warn");
    assert.match(JSON.stringify(state.logs.at(-1)?.obj), /no such table/);
    state.fail = false;
    await watch.check();
    assert.deepEqual(state.applied, [["192.0.2.0/24", "198.51.100.0/24"]], "retried after the failure");
    assert.deepEqual(state.logs.at(-1), {
      level: "info",
      msg: "host networks changed; sandboxes are denied them",
      obj: { hostNetworks: ["192.0.2.0/24", "198.51.100.0/24"] },
    });
    await watch.stop();
  });

  it("the timer picks up changes by itself and stop() ends it", async () => {
    const { state, watch } = harness([]);
    watch.start([]);
    state.nets = ["203.0.113.0/24"];
    const deadline = Date.now() + 10_000;
    while (state.applied.length === 0 && Date.now() < deadline) await sleep(5);
    assert.deepEqual(state.applied, [["203.0.113.0/24"]]);
    await watch.stop();
    state.nets = ["203.0.113.0/25"];
    await sleep(50);
    assert.equal(state.applied.length, 1, "nothing written after stop");
  });

  it("a read that throws is logged, not thrown", async () => {
    const logs: string[] = [];
    const watch = createHostNetworkWatch({
      read: () => Promise.reject(new Error("ip: command failed")),
      apply: () => Promise.resolve(),
      intervalMs: 1000,
      logger: { info: () => {}, warn: (_o, msg) => logs.push(msg ?? "") },
    });
    await watch.check();
    assert.equal(logs.length, 1);
    await watch.stop();
  });
});
