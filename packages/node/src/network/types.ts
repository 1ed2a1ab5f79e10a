import type { Spawner } from "@cove/protocol/spawner";
/** Where the manager reports what it changed on the host; pino's signature. */
export interface NetworkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface NetworkOptions {
  /** IPv4 CIDR carved into /30s, one per sandbox. Default "10.201.0.0/16". */
  pool: string;
  /**
   * Prefix of host-side veth names and of the nft table: 1–6 chars of [a-z0-9] that start and
   * end with a letter (so `${prefix}${index}` can be split back unambiguously, and "cv" never
   * claims "cv1"'s interfaces). Default "cv". Host veth = `${prefix}${index}`, netns =
   * `${prefix}-${sandboxId}`, nft table = `inet cove_${prefix}`.
   */
  prefix: string;
  /** Destinations a sandbox can never reach even with internet on. Default `defaultDeniedCidrs`; the pool is always added. */
  deniedCidrs?: string[];
  /** Exceptions to deniedCidrs, reachable only when internet is on (an internal registry, a test upstream). */
  allowedCidrs?: string[];
  /**
   * DNS servers sandboxes use (the caller writes them into the sandbox's resolv.conf); reachable on
   * port 53 udp+tcp when internet is on, even inside deniedCidrs. Default: the host's non-loopback
   * IPv4 nameservers, else ["1.1.1.1"].
   */
  dnsServers?: string[];
  /**
   * How often the host's own addresses and interface networks are re-read into the set sandboxes
   * are denied (in ms). Default 5000.
   */
  hostNetworksPollMs?: number;
  logger?: NetworkLogger;
  /** Starts its ip, nft and sysctl commands (the node's cove-spawn helper); Node's child_process without it. */
  spawner?: Spawner;
}

/** One sandbox's plumbing; plain data the caller persists to re-adopt it after a restart. */
export interface SandboxNetwork {
  sandboxId: string;
  /** Allocation slot in the pool: the index-th /30. */
  index: number;
  /** e.g. "cv-<sandboxId>". */
  netnsName: string;
  /** /var/run/netns/<netnsName>, for the OCI spec's network namespace. */
  netnsPath: string;
  /** Host-side veth, e.g. "cv17". */
  hostIf: string;
  /** Host side of the /30, e.g. 10.201.0.1: the sandbox's default gateway. */
  hostAddress: string;
  /** eth0 inside the netns, e.g. 10.201.0.2: where envd listens. */
  sandboxAddress: string;
  internet: boolean;
}

export interface SetupOptions {
  internet: boolean;
  /** Use this slot instead of the next free one (re-creating a sandbox at its old address). */
  index?: number;
  /**
   * Makes the network namespace at the given path instead of `ip netns add`: the sandbox's
   * own user namespace must own it, so the sandbox can mount a sysfs of its own.
   */
  createNetns?: (netnsPath: string) => Promise<void>;
}

export interface NetworkManager {
  /** Creates (or atomically replaces) the nft table, keeping live sandboxes' set elements; enables ip_forward. */
  init(): Promise<void>;
  /** netns + veth + addresses + route + nft elements; on failure removes what it made and throws. */
  setup(sandboxId: string, options: SetupOptions): Promise<SandboxNetwork>;
  /** Turns internet on/off for a live sandbox; turning it off also stops its open connections. */
  setInternet(sandboxId: string, internet: boolean): Promise<void>;
  /** Removes netns (and so the veth), nft elements, and frees the slot. Idempotent. */
  teardown(net: SandboxNetwork): Promise<void>;
  /** After a node restart: marks the slot used and makes sure the nft elements exist. */
  adopt(net: SandboxNetwork): Promise<void>;
  /** Removes our netns and veths whose sandbox id is not in `keep` (setups in flight are kept); returns their names. */
  cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]>;
  /** Stops re-reading the host's networks; the table and its rules stay (sandboxes outlive the node). */
  close(): Promise<void>;
  /** Removes the nft table (only when no sandbox of this node remains); implies close(). */
  destroy(): Promise<void>;
}
