import type { ResolvedNetworkOptions } from "./options.js";

/**
 * Named counters on every drop rule, so tests and operators can see which rule fired:
 * `nft list counters table inet cove_<prefix>`.
 */
export const nftCounters = {
  /** A sandbox opened a connection to any address of the host itself. */
  toHost: "to_host",
  /** A sandbox tried to reach another sandbox of this node. */
  sandboxToSandbox: "sandbox_to_sandbox",
  /** A packet left a sandbox whose internet is off. */
  internetOff: "internet_off",
  /** A sandbox with internet tried a denied destination. */
  denied: "denied",
  /** A sandbox with internet tried an address or network of the host's own interfaces (outside `denied`). */
  hostNetwork: "host_network",
  /** Something not from a sandbox opened a connection into one through the forward path. */
  intoSandbox: "into_sandbox",
  /** A packet from a sandbox veth did not carry that sandbox's own IPv4 source address. */
  spoofed: "spoofed",
  /** A non-IPv4 packet from a sandbox (sandboxes have no IPv6). */
  notIpv4: "not_ipv4",
} as const;

/** The set elements that describe live sandboxes. */
export interface SandboxElements {
  ifs: string[];
  internet: string[];
  /** [hostIf, sandboxAddress]: the only source address accepted from that veth. */
  sources: Array<[string, string]>;
}

export interface SandboxElementInput {
  hostIf: string;
  sandboxAddress: string;
  internet: boolean;
}

/**
 * nft has no "delete if present" before 1.0.8 (`destroy`), so deleting is add-then-delete in one
 * transaction: it succeeds whether or not the element was there.
 */
function removeLines(table: string, set: string, element: string): string[] {
  return [`add element inet ${table} ${set} { ${element} }`, `delete element inet ${table} ${set} { ${element} }`];
}

const ifname = (name: string) => `"${name}"`;
const source = (hostIf: string, address: string) => `"${hostIf}" . ${address}`;

/** Adds one sandbox. `internetWasOn` says whether a stale internet element may exist (it costs a delete, ~13 ms). */
export function renderAddSandbox(table: string, net: SandboxElementInput, internetWasOn = false): string {
  const lines = [`add element inet ${table} ifs { ${ifname(net.hostIf)} }`, `add element inet ${table} sources { ${source(net.hostIf, net.sandboxAddress)} }`];
  if (net.internet) lines.push(`add element inet ${table} internet { ${ifname(net.hostIf)} }`);
  else if (internetWasOn) lines.push(...removeLines(table, "internet", ifname(net.hostIf)));
  return `${lines.join("\n")}\n`;
}

export function renderSetInternet(table: string, hostIf: string, internet: boolean): string {
  const lines = internet ? [`add element inet ${table} internet { ${ifname(hostIf)} }`] : removeLines(table, "internet", ifname(hostIf));
  return `${lines.join("\n")}\n`;
}

export function renderRemoveSandbox(table: string, hostIf: string, sandboxAddress: string): string {
  return renderRemoveElements(table, { ifs: [hostIf], internet: [hostIf], sources: [[hostIf, sandboxAddress]] });
}

/** Removes any of these elements that exist, in one transaction. */
export function renderRemoveElements(table: string, e: SandboxElements): string {
  const lines = [
    ...e.ifs.flatMap((i) => removeLines(table, "ifs", ifname(i))),
    ...e.internet.flatMap((i) => removeLines(table, "internet", ifname(i))),
    ...e.sources.flatMap(([i, a]) => removeLines(table, "sources", source(i, a))),
  ];
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Replaces the host-network set in one transaction, so there is never a moment with it empty. */
export function renderHostNetworks(table: string, cidrs: readonly string[]): string {
  const lines = [`flush set inet ${table} host_networks`];
  if (cidrs.length > 0) lines.push(`add element inet ${table} host_networks { ${cidrs.join(", ")} }`);
  return `${lines.join("\n")}\n`;
}

function elements(values: string[]): string[] {
  return values.length === 0 ? [] : [`    elements = { ${values.join(", ")} }`];
}

function set(name: string, type: string, values: string[], interval: boolean): string[] {
  // auto-merge lets operators pass overlapping CIDRs (10/8 and 10.1/16) without an nft error.
  return [`  set ${name} {`, `    type ${type}`, ...(interval ? ["    flags interval", "    auto-merge"] : []), ...elements(values), "  }"];
}

/**
 * The whole table as one `nft -f` transaction: create-then-delete makes the replace work whether
 * or not an older copy exists, and nothing is ever half-loaded. `live` carries the elements of
 * sandboxes that survived a node restart, so they are never unfiltered while the table is
 * replaced; `hostNetworks` is the host's own networks as read right before (see host-networks.ts).
 *
 * Chains use `policy accept` and only judge packets on our own interfaces: other tables keep
 * their say, and a drop here is final for the whole host while an accept is only our vote.
 */
export function renderTable(options: ResolvedNetworkOptions, live: SandboxElements, hostNetworks: readonly string[]): string {
  const t = `cove_${options.prefix}`;
  const c = nftCounters;
  return [
    `add table inet ${t}`,
    `delete table inet ${t}`,
    `table inet ${t} {`,
    ...set("ifs", "ifname", live.ifs.map(ifname), false),
    ...set("internet", "ifname", live.internet.map(ifname), false),
    ...set(
      "sources",
      "ifname . ipv4_addr",
      live.sources.map(([i, a]) => source(i, a)),
      false,
    ),
    ...set("denied", "ipv4_addr", options.deniedCidrs, true),
    ...set("allowed", "ipv4_addr", options.allowedCidrs, true),
    ...set("dns", "ipv4_addr", options.dnsServers, true),
    ...set("host_networks", "ipv4_addr", [...hostNetworks], true),
    ...Object.values(c).flatMap((name) => [`  counter ${name} {`, "  }"]),
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    "    iifname @ifs jump sandbox_to_host",
    "  }",
    // Host services are closed to sandboxes; the node's own connections to envd come back as
    // established. A resolver on one of the host's own addresses is the one exception.
    "  chain sandbox_to_host {",
    `    meta nfproto != ipv4 counter name "${c.notIpv4}" drop`,
    `    iifname . ip saddr != @sources counter name "${c.spoofed}" drop`,
    "    ct state established,related accept",
    "    iifname @internet ip daddr @dns meta l4proto { tcp, udp } th dport 53 accept",
    `    counter name "${c.toHost}" drop`,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    "    iifname @ifs jump sandbox_out",
    "    oifname @ifs jump into_sandbox",
    "  }",
    // The internet check comes before `established accept` so that turning internet off also
    // stops connections that are already open.
    "  chain sandbox_out {",
    `    oifname @ifs counter name "${c.sandboxToSandbox}" drop`,
    `    meta nfproto != ipv4 counter name "${c.notIpv4}" drop`,
    `    iifname . ip saddr != @sources counter name "${c.spoofed}" drop`,
    `    iifname != @internet counter name "${c.internetOff}" drop`,
    "    ct state established,related accept",
    "    ip daddr @dns meta l4proto { tcp, udp } th dport 53 accept",
    "    ip daddr @allowed accept",
    `    ip daddr @denied counter name "${c.denied}" drop`,
    // The host's own LANs (a gateway, a NAS, other hosts next to the node) whatever their range.
    `    ip daddr @host_networks counter name "${c.hostNetwork}" drop`,
    "    accept",
    "  }",
    "  chain into_sandbox {",
    "    ct state established,related accept",
    `    counter name "${c.intoSandbox}" drop`,
    "  }",
    // Host→sandbox traffic leaves through one of our veths and is not rewritten.
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${options.poolText} oifname != @ifs masquerade`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** Reads the live-sandbox elements out of `nft -j list table` output; empty when the table is absent. */
export function parseSandboxElements(json: string): SandboxElements {
  const out: SandboxElements = { ifs: [], internet: [], sources: [] };
  const doc = JSON.parse(json) as { nftables?: Array<{ set?: { name?: string; elem?: unknown[] } }> };
  for (const entry of doc.nftables ?? []) {
    const s = entry.set;
    if (!s?.elem) continue;
    for (const e of s.elem) {
      if ((s.name === "ifs" || s.name === "internet") && typeof e === "string") out[s.name].push(e);
      if (s.name === "sources" && typeof e === "object" && e !== null && "concat" in e) {
        const [i, a] = (e as { concat: unknown[] }).concat;
        if (typeof i === "string" && typeof a === "string") out.sources.push([i, a]);
      }
    }
  }
  return out;
}
