export { createNetworkManager } from "./manager.js";
export { defaultDeniedCidrs, defaultPool, defaultPrefix, resolveNetworkOptions, type ResolvedNetworkOptions } from "./options.js";
export { parseNameservers, hostDnsServers, findHostDnsServers, fallbackDnsServers, resolvConfPaths } from "./resolv-conf.js";
export { parseCidr, parseIpv4, formatIpv4, formatCidr, slotCount, slotAddresses, type Ipv4Cidr, type SlotAddresses } from "./cidr.js";
export { nftCounters, renderTable } from "./nft-rules.js";
export { networkNames, validatePrefix, validateSandboxId } from "./names.js";
export type { NetworkLogger, NetworkManager, NetworkOptions, SandboxNetwork, SetupOptions } from "./types.js";
