import { cidrCovers, formatCidr, mergeCidrs, networkOf, parseCidr, parseIpv4, type Ipv4Cidr } from "./cidr.js";
import { exec } from "./host-command.js";
import type { NetworkLogger } from "./types.js";
import type { Spawner } from "@cove/protocol/spawner";

/** One IPv4 address of a host interface with the prefix length of its network. */
export interface HostAddress {
  address: string;
  prefixLength: number;
}

/** The IPv4 addresses in `ip -4 -j addr show` output; anything malformed is skipped. */
export function parseIpAddrJson(json: string): HostAddress[] {
  const links = JSON.parse(json) as unknown;
  if (!Array.isArray(links)) return [];
  const out: HostAddress[] = [];
  for (const link of links as Array<{ addr_info?: unknown }>) {
    if (!Array.isArray(link?.addr_info)) continue;
    for (const a of link.addr_info as Array<{ family?: unknown; local?: unknown; prefixlen?: unknown }>) {
      if (a.family === "inet" && typeof a.local === "string" && typeof a.prefixlen === "number") out.push({ address: a.local, prefixLength: a.prefixlen });
    }
  }
  return out;
}

/**
 * The host's own IPv4 addresses (/32) and the networks of its interfaces, minus what
 * `alreadyDenied` covers (the fixed private ranges and the sandbox pool, whose veth /30s the
 * existing rules handle), merged so that no two entries overlap. IPv6 is left out: sandboxes
 * have none, and non-IPv4 is dropped before any address check.
 */
export function hostNetworks(addresses: readonly HostAddress[], alreadyDenied: readonly string[]): string[] {
  const denied = alreadyDenied.map((c) => parseCidr(c));
  const found: Ipv4Cidr[] = [];
  for (const a of addresses) {
    const address = parseIpv4(a.address);
    if (address === undefined || !Number.isInteger(a.prefixLength) || a.prefixLength < 0 || a.prefixLength > 32) continue;
    found.push({ base: address, prefixLength: 32 }, networkOf(address, a.prefixLength));
  }
  return mergeCidrs(found.filter((c) => !denied.some((d) => cidrCovers(d, c)))).map(formatCidr);
}

/**
 * The host's networks right now. Read through `ip` in a child rather than os.networkInterfaces():
 * libuv's getifaddrs walk runs on the event loop and grows faster than linearly with the number of
 * interfaces (measured here: 28 ms per call with 1000 interfaces), and a node has one veth per
 * sandbox. The child's dump costs about the same but never stalls the node's requests.
 */
export async function readHostNetworks(alreadyDenied: readonly string[], spawner?: Spawner): Promise<string[]> {
  return hostNetworks(parseIpAddrJson(await exec(["ip", "-4", "-j", "addr", "show"], "", spawner)), alreadyDenied);
}

export interface HostNetworkWatchOptions {
  /** Current host networks; called once per tick. */
  read(): Promise<string[]>;
  /** Writes the list into nft (one transaction); a rejection is logged and retried next tick. */
  apply(cidrs: string[]): Promise<void>;
  intervalMs: number;
  logger: NetworkLogger;
}

export interface HostNetworkWatch {
  /** Starts polling; `applied` is what the table already holds (init rendered it). */
  start(applied: string[]): void;
  /** Stops the timer and waits for an update in flight, so nothing touches nft afterwards. */
  stop(): Promise<void>;
  /** One check now (what a tick does); resolves when any update is written. */
  check(): Promise<void>;
}

/**
 * Keeps the host-network set current by polling, not by `ip -o monitor address`. A long-lived
 * monitor child would need output parsing, a restart when it dies, debouncing (every sandbox veth
 * is an address event) and still a full re-read to compute the set. A poll is one short-lived
 * command per tick that stop() waits for, so nothing outlives the node, and an unchanged list
 * writes nothing. Its only cost is a window of at most one interval after an interface appears,
 * during which the input chain still closes the host's own addresses.
 */
export function createHostNetworkWatch(o: HostNetworkWatchOptions): HostNetworkWatch {
  let timer: NodeJS.Timeout | undefined;
  let current: string | undefined;
  let inFlight: Promise<void> | undefined;

  async function update(): Promise<void> {
    let next: string[];
    try {
      next = await o.read();
      const key = next.join(",");
      if (key === current) return;
      await o.apply(next);
      current = key;
      o.logger.info({ hostNetworks: next }, "host networks changed; sandboxes are denied them");
    } catch (err) {
      // Not fatal: the previous set stays in force and the next tick tries again.
      o.logger.warn({ err: String(err) }, "cannot update the host-network set; keeping the previous one");
    }
  }

  const check = (): Promise<void> => {
    // Ticks never overlap: a slow nft call makes the next tick wait for it rather than race it.
    inFlight ??= update().finally(() => (inFlight = undefined));
    return inFlight;
  };

  return {
    start(applied) {
      current = applied.join(",");
      if (timer) return;
      timer = setInterval(() => void check(), o.intervalMs);
      // The poll alone must never keep the process alive.
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
    check,
  };
}
