import { existsSync, readFileSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { exec } from "./host-command.js";
import { netnsDir } from "./names.js";
import type { Spawner } from "@cove/protocol/spawner";

/** What `ip` needs to build one sandbox's plumbing. */
export interface PlumbingSpec {
  sandboxId: string;
  netnsName: string;
  hostIf: string;
  hostAddress: string;
  sandboxAddress: string;
}

/**
 * Host side, one `ip -batch`: the netns, the veth pair with its peer created directly inside the
 * netns as eth0 (never visible on the host, so no clash with the host's eth0), and the host end.
 * The sandbox id goes into the veth's alias so orphans can be traced back after a crash.
 * Line 1 is `netns add`: if a later line fails, the netns is ours to delete. Without `addNetns`
 * the netns already exists (made inside the sandbox's user namespace).
 */
export function renderHostBatch(spec: PlumbingSpec, { addNetns = true } = {}): string {
  return [
    ...(addNetns ? [`netns add ${spec.netnsName}`] : []),
    `link add ${spec.hostIf} type veth peer name eth0 netns ${spec.netnsName}`,
    `link set ${spec.hostIf} alias ${spec.sandboxId}`,
    `addr add ${spec.hostAddress}/30 dev ${spec.hostIf}`,
    `link set ${spec.hostIf} up`,
    "",
  ].join("\n");
}

/** Inside the netns (`ip -n <ns> -batch`; `-n` is not accepted per line). */
export function renderInnerBatch(spec: PlumbingSpec): string {
  return [`addr add ${spec.sandboxAddress}/30 dev eth0`, "link set eth0 up", "link set lo up", `route add default via ${spec.hostAddress} dev eth0`, ""].join(
    "\n",
  );
}

/** Whether this kernel has IPv6 at all (ipv6.disable=1 removes the sysctls we would write). */
export function hostHasIpv6(): boolean {
  return existsSync("/proc/sys/net/ipv6");
}

/**
 * IPv6 off on eth0 and on any later interface; lo keeps ::1 so programs that resolve
 * "localhost" to ::1 still work. /proc/sys/net is per netns, so this has to run inside it.
 */
export function disableIpv6InNetns(netnsPath: string, spawner?: Spawner): Promise<string> {
  return exec(
    ["nsenter", `--net=${netnsPath}`, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
    "",
    spawner,
  );
}

/** The host end gets no IPv6 address either, so nothing IPv6 is ever spoken on the veth. */
export async function disableIpv6OnHostIf(hostIf: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, "1");
}

export function netnsExists(netnsName: string): boolean {
  return existsSync(`${netnsDir}/${netnsName}`);
}

export function linkExists(ifname: string): boolean {
  return existsSync(`/sys/class/net/${ifname}`);
}

/** The alias we stored on a host veth (our sandbox id), or undefined if the link is gone or has none. */
export function linkAlias(ifname: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/ifalias`, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function listNetns(): string[] {
  try {
    return readdirSync(netnsDir);
  } catch {
    return [];
  }
}

export interface VethInfo {
  ifname: string;
  alias: string | undefined;
}

export async function listHostVeths(spawner?: Spawner): Promise<VethInfo[]> {
  const links = JSON.parse(await exec(["ip", "-j", "link", "show", "type", "veth"], "", spawner)) as Array<{ ifname: string; ifalias?: string }>;
  return links.map((l) => ({ ifname: l.ifname, alias: l.ifalias || undefined }));
}

/**
 * Deleting a netns destroys its veth pair, but through the kernel's netns cleanup work, so the
 * host end can outlive `ip netns del` for a moment. Resolves true once it is gone.
 */
export async function waitLinkGone(ifname: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (linkExists(ifname)) {
    if (Date.now() > deadline) return false;
    await sleep(2);
  }
  return true;
}

/** Deletes a netns if it exists; a netns that is already gone is success. */
export async function deleteNetns(netnsName: string, spawner?: Spawner): Promise<void> {
  if (!netnsExists(netnsName)) return;
  try {
    await exec(["ip", "netns", "del", netnsName], "", spawner);
  } catch (err) {
    if (netnsExists(netnsName)) throw err;
  }
}

/** Deletes a link if it exists (~35 ms: the kernel waits for an RCU grace period). */
export async function deleteLink(ifname: string, spawner?: Spawner): Promise<void> {
  if (!linkExists(ifname)) return;
  try {
    await exec(["ip", "link", "del", ifname], "", spawner);
  } catch (err) {
    if (linkExists(ifname)) throw err;
  }
}
