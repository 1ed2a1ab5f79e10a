// Pure parts of the sandbox network module: CIDR carving, resolv.conf parsing, option
// validation, names and the rendered nft table. No root, no host changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { formatIpv4, parseCidr, parseIpv4, slotAddresses, slotCount } from "../src/network/cidr.js";
import { networkNames, validatePrefix, validateSandboxId } from "../src/network/names.js";
import { renderAddSandbox, renderRemoveSandbox, renderSetInternet, renderTable, parseSandboxElements } from "../src/network/nft-rules.js";
import { defaultDeniedCidrs, resolveNetworkOptions } from "../src/network/options.js";
import { findHostDnsServers, hostDnsServers, parseNameservers } from "../src/network/resolv-conf.js";
import { createSlotAllocator } from "../src/network/slots.js";

const invalid = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof NodeError && e.code === "invalid_argument");

describe("cidr", () => {
  it("parses and formats IPv4", () => {
    assert.equal(parseIpv4("10.201.0.1"), 0x0ac90001);
    assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
    assert.equal(formatIpv4(parseIpv4("192.168.3.4") ?? 0), "192.168.3.4");
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", " 1.2.3.4", "a.b.c.d"]) {
      assert.equal(parseIpv4(bad), undefined, bad);
    }
  });

  it("carves the pool into /30s: index → host .1, sandbox .2", () => {
    const pool = parseCidr("10.201.0.0/16");
    assert.equal(slotCount(pool), 16384);
    const table: Array<[number, string, string, string]> = [
      [0, "10.201.0.0/30", "10.201.0.1", "10.201.0.2"],
      [1, "10.201.0.4/30", "10.201.0.5", "10.201.0.6"],
      [17, "10.201.0.68/30", "10.201.0.69", "10.201.0.70"],
      [64, "10.201.1.0/30", "10.201.1.1", "10.201.1.2"],
      [16383, "10.201.255.252/30", "10.201.255.253", "10.201.255.254"],
    ];
    for (const [index, cidr, hostAddress, sandboxAddress] of table) {
      assert.deepEqual(slotAddresses(pool, index), { cidr, hostAddress, sandboxAddress });
    }
    invalid(() => slotAddresses(pool, 16384));
    invalid(() => slotAddresses(pool, -1));
    invalid(() => slotAddresses(pool, 1.5));
    assert.equal(slotCount(parseCidr("10.213.0.0/30")), 1);
    assert.equal(slotCount(parseCidr("10.213.0.0/29")), 2);
  });

  it("refuses malformed CIDRs and host bits", () => {
    assert.deepEqual(parseCidr("1.2.3.4"), { base: 0x01020304, prefixLength: 32 });
    assert.deepEqual(parseCidr("0.0.0.0/0"), { base: 0, prefixLength: 0 });
    for (const bad of ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0/8", "10.1.2.3/8", "x/8", "10.0.0.0/08"]) invalid(() => parseCidr(bad));
    assert.throws(() => parseCidr("10.1.2.3/8"), /did you mean 10\.0\.0\.0\/8/);
  });
});

describe("resolv.conf", () => {
  it("keeps IPv4 non-loopback nameservers in order, once", () => {
    const text = [
      "# generated",
      "search example.internal",
      "nameserver 127.0.0.53",
      "nameserver 10.255.255.53",
      "  nameserver\t192.0.2.1   # office",
      "nameserver 2001:db8::1",
      "; nameserver 9.9.9.9",
      "nameserver 10.255.255.53",
      "nameserver",
      "nameservers 8.8.8.8",
      "options edns0",
    ].join("\n");
    assert.deepEqual(parseNameservers(text), ["10.255.255.53", "192.0.2.1"]);
    assert.deepEqual(parseNameservers(""), []);
  });

  it("falls back to systemd-resolved's upstream list, then 1.1.1.1", () => {
    const files: Record<string, string> = {
      "/etc/resolv.conf": "nameserver 127.0.0.53\n",
      "/run/systemd/resolve/resolv.conf": "nameserver 192.0.2.53\n",
    };
    const read = (p: string) => {
      const text = files[p];
      if (text === undefined) throw new Error("ENOENT");
      return text;
    };
    assert.deepEqual(findHostDnsServers(read), { servers: ["192.0.2.53"], source: "/run/systemd/resolve/resolv.conf" });
    delete files["/run/systemd/resolve/resolv.conf"];
    assert.deepEqual(hostDnsServers(read), ["1.1.1.1"]);
    assert.equal(findHostDnsServers(read).source, "fallback");
  });
});

describe("names and validation", () => {
  it("validates sandbox ids", () => {
    for (const ok of ["a", "0", "abc-123", "x".repeat(63)]) validateSandboxId(ok);
    for (const bad of ["", "-a", "A", "a_b", "a b", "x".repeat(64), "a/b", "a\nb", "../x"]) invalid(() => validateSandboxId(bad));
  });

  it("validates prefixes: unambiguous when followed by a slot number", () => {
    for (const ok of ["cv", "c", "ct9abz", "abcdef"]) validatePrefix(ok);
    for (const bad of ["", "cv1", "1cv", "abcdefg", "c-v", "CV", "c v"]) invalid(() => validatePrefix(bad));
  });

  it("derives names and maps them back", () => {
    const n = networkNames("cv");
    assert.equal(n.table, "cove_cv");
    assert.equal(n.hostIf(17), "cv17");
    assert.equal(n.netnsName("abc"), "cv-abc");
    assert.equal(n.netnsPath("abc"), "/var/run/netns/cv-abc");
    assert.equal(n.slotOfHostIf("cv17"), 17);
    assert.equal(n.slotOfHostIf("cv0"), 0);
    for (const other of ["cv", "cv01", "cva17", "xcv17", "cv17a", "cv-17"]) assert.equal(n.slotOfHostIf(other), undefined, other);
    assert.equal(n.sandboxIdOfNetns("cv-abc"), "abc");
    for (const other of ["cv", "cva-abc", "cv-", "cv-A", "xcv-abc"]) assert.equal(n.sandboxIdOfNetns(other), undefined, other);
  });

  it("resolves options with defaults and refuses bad ones", () => {
    const o = resolveNetworkOptions({ dnsServers: ["192.0.2.53"] });
    assert.equal(o.prefix, "cv");
    assert.equal(o.poolText, "10.201.0.0/16");
    assert.equal(o.slots, 16384);
    assert.deepEqual(o.deniedCidrs, [...defaultDeniedCidrs, "10.201.0.0/16"]);
    assert.deepEqual(o.allowedCidrs, []);
    const custom = resolveNetworkOptions({
      pool: "100.100.0.0/24",
      prefix: "ctx",
      deniedCidrs: ["10.0.0.0/8"],
      allowedCidrs: ["10.5.0.0/16", "10.5.0.0/16", "192.0.2.1"],
      dnsServers: ["192.0.2.53"],
    });
    assert.deepEqual(custom.deniedCidrs, ["10.0.0.0/8", "100.100.0.0/24"]);
    assert.deepEqual(custom.allowedCidrs, ["10.5.0.0/16", "192.0.2.1/32"]);
    invalid(() => resolveNetworkOptions({ prefix: "toolong" }));
    invalid(() => resolveNetworkOptions({ pool: "10.0.0.0/7" }));
    invalid(() => resolveNetworkOptions({ pool: "10.0.0.0/31" }));
    invalid(() => resolveNetworkOptions({ pool: "10.0.0.1/16" }));
    invalid(() => resolveNetworkOptions({ deniedCidrs: ["10.0.0.0/40"] }));
    invalid(() => resolveNetworkOptions({ allowedCidrs: ["registry.internal"] }));
    invalid(() => resolveNetworkOptions({ dnsServers: ["10.0.0.0/8"] }));
  });
});

describe("slot allocator", () => {
  it("hands out slots next-fit, skips unusable ones, and runs out", () => {
    const s = createSlotAllocator(3);
    assert.equal(
      s.claimNext("a", () => true),
      0,
    );
    assert.equal(
      s.claimNext("b", (i) => i !== 1),
      2,
    );
    s.release(0, "a");
    assert.equal(
      s.claimNext("c", () => true),
      0,
      "the cursor wrapped to 0",
    );
    assert.equal(
      s.claimNext("d", () => true),
      1,
    );
    assert.equal(
      s.claimNext("e", () => true),
      undefined,
    );
    assert.equal(s.claim(1, "x"), false);
    s.release(1, "not-the-owner");
    assert.equal(s.owner(1), "d");
    assert.equal(s.used, 3);
  });
});

describe("nft rules", () => {
  const o = resolveNetworkOptions({ prefix: "cv", allowedCidrs: ["10.214.0.2/32"], dnsServers: ["10.255.255.53"] });
  const text = renderTable(o, { ifs: ["cv3"], internet: ["cv3"], sources: [["cv3", "10.201.0.14"]] }, []);

  it("replaces the table in one transaction and keeps live elements", () => {
    assert.match(text, /^add table inet cove_cv\ndelete table inet cove_cv\ntable inet cove_cv \{/);
    assert.match(text, /set ifs \{\n {4}type ifname\n {4}elements = \{ "cv3" \}/);
    assert.match(text, /set sources \{\n {4}type ifname \. ipv4_addr\n {4}elements = \{ "cv3" \. 10\.201\.0\.14 \}/);
    assert.match(text, /set allowed \{[^}]*elements = \{ 10\.214\.0\.2\/32 \}/);
    assert.match(text, /set dns \{[^}]*elements = \{ 10\.255\.255\.53 \}/);
    assert.match(text, /ip saddr 10\.201\.0\.0\/16 oifname != @ifs masquerade/);
    const empty = renderTable(o, { ifs: [], internet: [], sources: [] }, []);
    assert.doesNotMatch(empty.slice(0, empty.indexOf("set denied")), /elements/);
  });

  it("drops between sandboxes before anything else and checks internet before established", () => {
    const out = text.slice(text.indexOf("chain sandbox_out"));
    const order = ['@ifs counter name "sandbox_to_sandbox"', "!= @sources", "!= @internet", "established", "@dns", "@allowed", "@denied", "accept\n  }"];
    const at = order.map((s) => out.indexOf(s));
    assert.ok(
      at.every((p, i) => p >= 0 && (i === 0 || p > (at[i - 1] ?? 0))),
      `order ${at.join(",")}`,
    );
  });

  it("renders element changes; removal tolerates missing elements", () => {
    const net = { hostIf: "cv3", sandboxAddress: "10.201.0.14", internet: false };
    assert.equal(renderAddSandbox("cove_cv", net), 'add element inet cove_cv ifs { "cv3" }\nadd element inet cove_cv sources { "cv3" . 10.201.0.14 }\n');
    assert.match(renderAddSandbox("cove_cv", net, true), /add element inet cove_cv internet \{ "cv3" \}\ndelete element inet cove_cv internet \{ "cv3" \}/);
    assert.match(renderAddSandbox("cove_cv", { ...net, internet: true }), /add element inet cove_cv internet \{ "cv3" \}\n$/);
    assert.equal(renderSetInternet("cove_cv", "cv3", true), 'add element inet cove_cv internet { "cv3" }\n');
    assert.equal(
      renderRemoveSandbox("cove_cv", "cv3", "10.201.0.14")
        .split("\n")
        .filter((l) => l.startsWith("delete")).length,
      3,
    );
  });

  it("parses live elements from nft -j", () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { set: { name: "ifs", elem: ["cv1", "cv2"] } },
        { set: { name: "internet", elem: ["cv2"] } },
        { set: { name: "sources", elem: [{ concat: ["cv1", "10.201.0.6"] }] } },
        { set: { name: "denied", elem: [{ prefix: { addr: "10.0.0.0", len: 8 } }] } },
      ],
    });
    assert.deepEqual(parseSandboxElements(json), { ifs: ["cv1", "cv2"], internet: ["cv2"], sources: [["cv1", "10.201.0.6"]] });
  });
});
