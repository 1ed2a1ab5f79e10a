import { NodeError } from "../errors.js";
import { formatCidr, parseCidr, parseIpv4, slotCount, type Ipv4Cidr } from "./cidr.js";
import { validatePrefix } from "./names.js";
import { findHostDnsServers } from "./resolv-conf.js";
import type { NetworkLogger, NetworkOptions } from "./types.js";

/**
 * Never reachable from a sandbox: "this network", private ranges (the node's LAN, other
 * sandboxes, cloud VPCs), CGNAT, loopback, link-local (cloud metadata at 169.254.169.254),
 * IETF protocol assignments, benchmarking, multicast and reserved.
 */
export const defaultDeniedCidrs: readonly string[] = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

export const defaultPool = "10.201.0.0/16";
export const defaultPrefix = "cv";
/** A new LAN is open to sandboxes for at most this long before the poll denies it. */
export const defaultHostNetworksPollMs = 5000;

/** Options after defaults and validation; CIDR lists are normalized strings nft accepts. */
export interface ResolvedNetworkOptions {
  pool: Ipv4Cidr;
  poolText: string;
  slots: number;
  prefix: string;
  deniedCidrs: string[];
  allowedCidrs: string[];
  dnsServers: string[];
  hostNetworksPollMs: number;
  logger: NetworkLogger;
}

const silent: NetworkLogger = { info() {}, warn() {} };

export function resolveNetworkOptions(options: Partial<NetworkOptions>): ResolvedNetworkOptions {
  const prefix = options.prefix ?? defaultPrefix;
  validatePrefix(prefix);
  const pool = parseCidr(options.pool ?? defaultPool, "pool");
  // /30 is one slot; wider than /8 would need more than 7 index digits and break IFNAMSIZ (15).
  if (pool.prefixLength < 8 || pool.prefixLength > 30) {
    throw new NodeError("invalid_argument", `pool ${formatCidr(pool)} must be between /8 and /30`);
  }
  const logger = options.logger ?? silent;
  const list = (values: readonly string[], what: string) => values.map((v) => formatCidr(parseCidr(v, what)));
  // The pool is always denied: other managers' sandboxes live there (our own are dropped by interface).
  const deniedCidrs = [...new Set([...list(options.deniedCidrs ?? defaultDeniedCidrs, "denied CIDR"), formatCidr(pool)])];
  const allowedCidrs = [...new Set(list(options.allowedCidrs ?? [], "allowed CIDR"))];
  let dnsServers = options.dnsServers;
  if (dnsServers === undefined) {
    const found = findHostDnsServers();
    if (found.source === "fallback") logger.warn({ dnsServers: found.servers }, "no usable nameserver on the host; sandboxes use the fallback");
    dnsServers = found.servers;
  }
  for (const server of dnsServers) {
    if (parseIpv4(server) === undefined) throw new NodeError("invalid_argument", `DNS server ${JSON.stringify(server)} is not an IPv4 address`);
  }
  const hostNetworksPollMs = options.hostNetworksPollMs ?? defaultHostNetworksPollMs;
  if (!Number.isInteger(hostNetworksPollMs) || hostNetworksPollMs < 10) {
    throw new NodeError("invalid_argument", `hostNetworksPollMs must be an integer of at least 10, got ${hostNetworksPollMs}`);
  }
  return {
    pool,
    poolText: formatCidr(pool),
    slots: slotCount(pool),
    prefix,
    deniedCidrs,
    allowedCidrs,
    dnsServers: [...new Set(dnsServers)],
    hostNetworksPollMs,
    logger,
  };
}
