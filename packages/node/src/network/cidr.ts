import { NodeError } from "../errors.js";

/** An IPv4 network: `base` has no host bits set. Addresses are unsigned 32-bit numbers. */
export interface Ipv4Cidr {
  base: number;
  prefixLength: number;
}

/** The addresses of one sandbox's /30: network, host side (.1), sandbox side (.2), broadcast. */
export interface SlotAddresses {
  /** e.g. "10.201.0.4/30". */
  cidr: string;
  hostAddress: string;
  sandboxAddress: string;
}

const octet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses dotted-quad IPv4 (no leading zeros, which some parsers read as octal); undefined if malformed. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => octet.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/**
 * Parses "a.b.c.d/n" or a bare address (= /32). Host bits must be zero: "10.1.2.3/8" is more
 * likely a typo than a wish to deny 10/8, so it is refused rather than silently widened.
 */
export function parseCidr(text: string, what = "CIDR"): Ipv4Cidr {
  const [addr, len, extra] = text.split("/");
  const base = parseIpv4(addr ?? "");
  const prefixLength = len === undefined ? 32 : /^(3[0-2]|[12]?\d)$/.test(len) ? Number(len) : undefined;
  if (base === undefined || prefixLength === undefined || extra !== undefined) {
    throw new NodeError("invalid_argument", `${what} ${JSON.stringify(text)} is not an IPv4 address or CIDR`);
  }
  if ((base & ~mask(prefixLength)) >>> 0 !== 0) {
    throw new NodeError(
      "invalid_argument",
      `${what} ${text} has host bits set (did you mean ${formatCidr({ base: (base & mask(prefixLength)) >>> 0, prefixLength })}?)`,
    );
  }
  return { base, prefixLength };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefixLength}`;
}

function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return (address & mask(cidr.prefixLength)) >>> 0 === cidr.base;
}

/** How many /30 slots the pool holds. */
export function slotCount(pool: Ipv4Cidr): number {
  return pool.prefixLength > 30 ? 0 : 2 ** (30 - pool.prefixLength);
}

/** The index-th /30 of the pool; index 0 is the pool's first /30 (10.201.0.1 ↔ 10.201.0.2). */
export function slotAddresses(pool: Ipv4Cidr, index: number): SlotAddresses {
  if (!Number.isInteger(index) || index < 0 || index >= slotCount(pool)) {
    throw new NodeError("invalid_argument", `slot ${index} is outside pool ${formatCidr(pool)}`);
  }
  const network = pool.base + index * 4;
  return {
    cidr: `${formatIpv4(network)}/30`,
    hostAddress: formatIpv4(network + 1),
    sandboxAddress: formatIpv4(network + 2),
  };
}

/** The network an address with this prefix length is on: "192.0.2.7" /24 → 192.0.2.0/24. */
export function networkOf(address: number, prefixLength: number): Ipv4Cidr {
  return { base: (address & mask(prefixLength)) >>> 0, prefixLength };
}

/** True when every address of `inner` is inside `outer`. */
export function cidrCovers(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return outer.prefixLength <= inner.prefixLength && cidrContains(outer, inner.base);
}

/**
 * The smallest list of CIDRs covering exactly the same addresses: duplicates and prefixes inside
 * another go, and two halves of one prefix become that prefix. The result never overlaps, so an
 * nft interval set takes it even without auto-merge, and logs show each network once.
 */
export function mergeCidrs(cidrs: readonly Ipv4Cidr[]): Ipv4Cidr[] {
  const sorted = [...cidrs].sort((a, b) => a.base - b.base || a.prefixLength - b.prefixLength);
  const out: Ipv4Cidr[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    // Sorted by base, so anything inside an earlier prefix is inside the last one kept.
    if (last && cidrCovers(last, c)) continue;
    out.push({ ...c });
    // Join siblings bottom-up: 10.0.0.0/25 + 10.0.0.128/25 → 10.0.0.0/24, which may in turn join its sibling.
    for (;;) {
      const b = out[out.length - 1];
      const a = out[out.length - 2];
      if (!a || !b || a.prefixLength !== b.prefixLength || a.prefixLength === 0) break;
      const parent = networkOf(a.base, a.prefixLength - 1);
      if (parent.base !== a.base || b.base !== a.base + 2 ** (32 - a.prefixLength)) break;
      out.splice(-2, 2, parent);
    }
  }
  return out;
}
