import { networkInterfaces } from "node:os";
import { cidrCovers, formatCidr, mergeCidrs, networkOf, parseCidr, parseIpv4, type Ipv4Cidr } from "./cidr.js";
import type { NetworkLogger } from "./types.js";

/** The part of `os.networkInterfaces()` this module reads, so tests can pass a plain table. */
export type InterfaceTable = Record<string, ReadonlyArray<{ family: string; address: string; cidr: string | null }> | undefined>;

/**
 * The host's own IPv4 addresses (/32) and the networks of its interfaces, minus what
 * `alreadyDenied` covers (the fixed private ranges and the sandbox pool, whose veth /30s the
 * existing rules handle), merged so that no two entries overlap. IPv6 is left out: sandboxes
 * have none, and non-IPv4 is dropped before any address check.
 */
export function hostNetworks(interfaces: InterfaceTable, alreadyDenied: readonly string[]): string[] {
  const denied = alreadyDenied.map((c) => parseCidr(c));
  const found: Ipv4Cidr[] = [];
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family !== "IPv4") continue;
      const address = parseIpv4(a.address);
      const length = a.cidr === null ? undefined : Number(a.cidr.split("/")[1]);
      if (address === undefined) continue;
      found.push({ base: address, prefixLength: 32 });
      if (length !== undefined && Number.isInteger(length) && length >= 0 && length <= 32) found.push(networkOf(address, length));
    }
  }
  return mergeCidrs(found.filter((c) => !denied.some((d) => cidrCovers(d, c)))).map(formatCidr);
}

/** The host's networks right now, from getifaddrs(3). */
export function readHostNetworks(alreadyDenied: readonly string[]): string[] {
  return hostNetworks(networkInterfaces(), alreadyDenied);
}

export interface HostNetworkWatchOptions {
  /** Current host networks; called once per tick. */
  read(): string[];
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
 * Keeps the host-network set current by polling, not by `ip -o monitor address`. A monitor child
 * would need parsing, a restart when it dies, debouncing (every sandbox veth is an address event)
 * and still a full re-read to compute the set; a poll of getifaddrs costs well under a millisecond
 * per tick, has no child process to leak, and its only cost is a window of at most one interval
 * after an interface appears, during which the input chain still blocks the host's own addresses.
 */
export function createHostNetworkWatch(o: HostNetworkWatchOptions): HostNetworkWatch {
  let timer: NodeJS.Timeout | undefined;
  let current: string | undefined;
  let inFlight: Promise<void> | undefined;

  async function update(): Promise<void> {
    let next: string[];
    try {
      next = o.read();
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
