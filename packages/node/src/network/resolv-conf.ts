import { readFileSync } from "node:fs";
import { parseIpv4 } from "./cidr.js";

/**
 * The IPv4 `nameserver` addresses of a resolv.conf, in order. Loopback ones (127.0.0.53 of
 * systemd-resolved, a local dnsmasq) are dropped: inside a sandbox 127.x is the sandbox itself.
 * IPv6 ones are dropped because sandboxes have no IPv6.
 */
export function parseNameservers(text: string): string[] {
  const servers: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*/, "").trim();
    const [keyword, address] = line.split(/\s+/);
    if (keyword !== "nameserver" || address === undefined) continue;
    const parsed = parseIpv4(address);
    if (parsed === undefined || parsed >>> 24 === 127) continue;
    if (!servers.includes(address)) servers.push(address);
  }
  return servers;
}

/** Where a host's real upstream servers are listed, best first (systemd-resolved keeps them in the second). */
export const resolvConfPaths = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"];

export const fallbackDnsServers = ["1.1.1.1"];

type ReadText = (path: string) => string;
const readText: ReadText = (p) => readFileSync(p, "utf8");

/** The host's usable nameservers and the file they came from ("fallback" when none was found). */
export function findHostDnsServers(read: ReadText = readText): { servers: string[]; source: string } {
  for (const path of resolvConfPaths) {
    let text: string;
    try {
      text = read(path);
    } catch {
      continue;
    }
    const servers = parseNameservers(text);
    if (servers.length > 0) return { servers, source: path };
  }
  return { servers: [...fallbackDnsServers], source: "fallback" };
}

/** The default of `NetworkOptions.dnsServers`: what sandboxes should put in their resolv.conf. */
export function hostDnsServers(read: ReadText = readText): string[] {
  return findHostDnsServers(read).servers;
}
