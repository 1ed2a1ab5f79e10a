import { readFile, writeFile } from "node:fs/promises";
import { NodeError } from "../errors.js";
import { slotAddresses } from "./cidr.js";
import { exec, failedBatchLine, runtimeFailed } from "./host-command.js";
import {
  deleteLink,
  deleteNetns,
  disableIpv6InNetns,
  disableIpv6OnHostIf,
  hostHasIpv6,
  linkAlias,
  linkExists,
  listHostVeths,
  listNetns,
  netnsExists,
  renderHostBatch,
  renderInnerBatch,
  waitLinkGone,
} from "./netns.js";
import { networkNames, validateSandboxId } from "./names.js";
import { createHostNetworkWatch, readHostNetworks } from "./host-networks.js";
import { createNftClient } from "./nft-client.js";
import { renderAddSandbox, renderHostNetworks, renderRemoveElements, renderRemoveSandbox, renderSetInternet, renderTable } from "./nft-rules.js";
import { resolveNetworkOptions } from "./options.js";
import { createSlotAllocator } from "./slots.js";
import type { NetworkManager, NetworkOptions, SandboxNetwork, SetupOptions } from "./types.js";

/** How long to wait for the kernel to drop a deleted netns's veth before deleting it by hand (a process still inside pins the netns, and so the veth). */
const vethGoneTimeoutMs = 250;
const ipForwardPath = "/proc/sys/net/ipv4/ip_forward";

/**
 * One manager per prefix per host: it assumes it is the only writer of its nft table and of
 * the netns/veth names derived from its prefix.
 */
export function createNetworkManager(options: Partial<NetworkOptions>): NetworkManager {
  const o = resolveNetworkOptions(options);
  const names = networkNames(o.prefix);
  const spawner = options.spawner;
  const nft = createNftClient(names.table, spawner);
  const slots = createSlotAllocator(o.slots);
  const ipv6 = hostHasIpv6();
  const log = o.logger;
  /** Every network this manager owns, setups in flight included (so no one else claims the id). */
  const nets = new Map<string, SandboxNetwork>();
  const pending = new Set<string>();
  /** Mirror of the nft `internet` set, so setup knows when a stale element must be deleted. */
  const internetMembers = new Set<string>();
  const readHostNets = () => readHostNetworks(o.deniedCidrs, spawner);
  const hostWatch = createHostNetworkWatch({
    read: readHostNets,
    apply: (cidrs) => nft.apply(renderHostNetworks(names.table, cidrs)),
    intervalMs: o.hostNetworksPollMs,
    logger: log,
  });

  function describe(sandboxId: string, index: number, internet: boolean): SandboxNetwork {
    const { hostAddress, sandboxAddress } = slotAddresses(o.pool, index);
    return {
      sandboxId,
      index,
      netnsName: names.netnsName(sandboxId),
      netnsPath: names.netnsPath(sandboxId),
      hostIf: names.hostIf(index),
      hostAddress,
      sandboxAddress,
      internet,
    };
  }

  /** A network handed back by a caller must be exactly what this manager would have made. */
  function checkShape(net: SandboxNetwork): void {
    validateSandboxId(net.sandboxId);
    const expected = describe(net.sandboxId, net.index, net.internet);
    for (const key of ["netnsName", "netnsPath", "hostIf", "hostAddress", "sandboxAddress"] as const) {
      if (net[key] !== expected[key]) {
        throw new NodeError("invalid_argument", `network of ${net.sandboxId}: ${key} ${net[key]} does not match prefix ${o.prefix} and pool ${o.poolText}`);
      }
    }
  }

  function forget(sandboxId: string): void {
    const net = nets.get(sandboxId);
    if (!net) return;
    nets.delete(sandboxId);
    slots.release(net.index, sandboxId);
  }

  async function removeElements(net: SandboxNetwork): Promise<void> {
    try {
      await nft.apply(renderRemoveSandbox(names.table, net.hostIf, net.sandboxAddress));
    } catch (err) {
      if (await nft.exists()) throw err; // no table, no elements
    }
    internetMembers.delete(net.hostIf);
  }

  /** Best effort: removes what a failed setup made, logging (not throwing) what it cannot. */
  async function rollback(net: SandboxNetwork, madeNetns: boolean, touchedNft: boolean): Promise<void> {
    const steps: Array<Promise<unknown>> = [];
    if (madeNetns) {
      steps.push(
        deleteNetns(net.netnsName, spawner).then(async () => {
          if (!(await waitLinkGone(net.hostIf, vethGoneTimeoutMs)) && linkAlias(net.hostIf) === net.sandboxId) await deleteLink(net.hostIf, spawner);
        }),
      );
    }
    if (touchedNft) steps.push(removeElements(net));
    for (const r of await Promise.allSettled(steps)) {
      if (r.status === "rejected") log.warn({ sandboxId: net.sandboxId, err: String(r.reason) }, "network rollback incomplete; cleanupOrphans will finish it");
    }
  }

  return {
    async init() {
      // NAT for sandboxes means routing for the whole host netns; this is a host-wide change.
      try {
        const forward = (await readFile(ipForwardPath, "utf8")).trim();
        if (forward !== "1") {
          await writeFile(ipForwardPath, "1");
          log.info({ previous: forward }, "enabled net.ipv4.ip_forward in the host netns for sandbox NAT");
        }
      } catch (err) {
        throw new NodeError("unavailable", `cannot enable ${ipForwardPath} (needs root in the host netns)`, { cause: err });
      }
      // Elements of veths that still exist belong to sandboxes that outlived a node restart.
      const old = await nft.elements();
      const alive = (i: string) => linkExists(i) && names.slotOfHostIf(i) !== undefined;
      const live = { ifs: old.ifs.filter(alive), internet: old.internet.filter(alive), sources: old.sources.filter(([i]) => alive(i)) };
      // Stopped while the table is replaced, so a tick cannot write the set of the old one.
      await hostWatch.stop();
      let hostNets: string[];
      try {
        hostNets = await readHostNets();
      } catch (err) {
        throw runtimeFailed("cannot read the host's addresses (ip -4 addr)", err);
      }
      try {
        await nft.apply(renderTable(o, live, hostNets));
      } catch (err) {
        throw runtimeFailed(`cannot load nft table ${names.table}`, err);
      }
      internetMembers.clear();
      for (const i of live.internet) internetMembers.add(i);
      log.info({ table: names.table, pool: o.poolText, dnsServers: o.dnsServers, kept: live.ifs.length }, "sandbox network table loaded");
      log.info({ hostNetworks: hostNets, pollMs: o.hostNetworksPollMs }, "sandboxes are denied the host's own networks");
      hostWatch.start(hostNets);
    },

    async setup(sandboxId, options: SetupOptions) {
      validateSandboxId(sandboxId);
      if (nets.has(sandboxId)) throw new NodeError("invalid_argument", `sandbox ${sandboxId} already has a network`);
      if (netnsExists(names.netnsName(sandboxId))) {
        throw new NodeError("runtime_failed", `network namespace ${names.netnsName(sandboxId)} already exists (left by a crash? cleanupOrphans removes it)`);
      }
      let index: number | undefined;
      if (options.index !== undefined) {
        slotAddresses(o.pool, options.index); // range check
        if (linkExists(names.hostIf(options.index)) || !slots.claim(options.index, sandboxId)) {
          throw new NodeError("invalid_argument", `slot ${options.index} of pool ${o.poolText} is in use`);
        }
        index = options.index;
      } else {
        // A slot whose veth still exists (a netns being cleaned up, an orphan) is skipped.
        index = slots.claimNext(sandboxId, (i) => !linkExists(names.hostIf(i)));
        if (index === undefined) throw new NodeError("unavailable", `network pool ${o.poolText} is exhausted (${o.slots} sandboxes)`);
      }
      const net = describe(sandboxId, index, options.internet);
      nets.set(sandboxId, net);
      pending.add(sandboxId);
      let madeNetns = false;
      let touchedNft = false;
      try {
        if (options.createNetns) {
          await options.createNetns(net.netnsPath);
          madeNetns = true;
          await exec(["ip", "-batch", "-"], renderHostBatch(net, { addNetns: false }), spawner);
        } else {
          try {
            await exec(["ip", "-batch", "-"], renderHostBatch(net), spawner);
            madeNetns = true;
          } catch (err) {
            madeNetns = failedBatchLine(err) !== 1; // line 1 is `netns add`: if that failed, the netns is not ours
            throw err;
          }
        }
        touchedNft = true;
        const steps = [
          exec(["ip", "-n", net.netnsName, "-batch", "-"], renderInnerBatch(net), spawner),
          nft.apply(renderAddSandbox(names.table, net, internetMembers.has(net.hostIf))),
          ...(ipv6 ? [disableIpv6InNetns(net.netnsPath, spawner), disableIpv6OnHostIf(net.hostIf)] : []),
        ];
        const failed = (await Promise.allSettled(steps)).find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
        if (net.internet) internetMembers.add(net.hostIf);
        else internetMembers.delete(net.hostIf);
        return { ...net };
      } catch (err) {
        // Assume the internet element may exist until removal succeeds, so a failed rollback
        // cannot leave this slot's next sandbox with internet it did not ask for.
        if (touchedNft && net.internet) internetMembers.add(net.hostIf);
        await rollback(net, madeNetns, touchedNft);
        forget(sandboxId);
        throw err instanceof NodeError ? err : runtimeFailed(`network setup of sandbox ${sandboxId} failed`, err);
      } finally {
        pending.delete(sandboxId);
      }
    },

    async setInternet(sandboxId, internet) {
      const net = nets.get(sandboxId);
      if (!net || pending.has(sandboxId)) throw new NodeError("not_found", `sandbox ${sandboxId} has no network on this node`);
      try {
        await nft.apply(renderSetInternet(names.table, net.hostIf, internet));
      } catch (err) {
        throw runtimeFailed(`cannot turn internet ${internet ? "on" : "off"} for sandbox ${sandboxId}`, err);
      }
      net.internet = internet;
      if (internet) internetMembers.add(net.hostIf);
      else internetMembers.delete(net.hostIf);
    },

    async teardown(net) {
      checkShape(net);
      if (pending.has(net.sandboxId)) throw new NodeError("invalid_argument", `network setup of sandbox ${net.sandboxId} is still in progress`);
      // After a restart the slot may have gone to another sandbox: then only the netns (named by
      // id) is this sandbox's; the veth and nft elements of that slot are not.
      const owner = slots.owner(net.index);
      const alias = linkAlias(net.hostIf);
      const ownsSlot = (owner === undefined || owner === net.sandboxId) && (alias === undefined || alias === net.sandboxId);
      try {
        await Promise.all([
          deleteNetns(net.netnsName, spawner).then(async () => {
            if (ownsSlot && !(await waitLinkGone(net.hostIf, vethGoneTimeoutMs))) await deleteLink(net.hostIf, spawner);
          }),
          ownsSlot ? removeElements(net) : Promise.resolve(),
        ]);
      } catch (err) {
        // The slot stays claimed: reusing it with stale elements could hand out internet access.
        throw runtimeFailed(`network teardown of sandbox ${net.sandboxId} failed`, err);
      }
      if (nets.get(net.sandboxId)?.index === net.index) forget(net.sandboxId);
      else if (ownsSlot) slots.release(net.index, net.sandboxId);
    },

    async adopt(net) {
      checkShape(net);
      const known = nets.get(net.sandboxId);
      if (known && known.index !== net.index) throw new NodeError("invalid_argument", `sandbox ${net.sandboxId} already has slot ${known.index}`);
      if (!netnsExists(net.netnsName) || linkAlias(net.hostIf) !== net.sandboxId) {
        throw new NodeError("not_found", `network of sandbox ${net.sandboxId} (${net.netnsName}, ${net.hostIf}) no longer exists`);
      }
      if (!slots.claim(net.index, net.sandboxId)) throw new NodeError("invalid_argument", `slot ${net.index} belongs to sandbox ${slots.owner(net.index)}`);
      try {
        await nft.apply(renderAddSandbox(names.table, net, true));
      } catch (err) {
        if (!known) slots.release(net.index, net.sandboxId);
        throw runtimeFailed(`cannot adopt the network of sandbox ${net.sandboxId}`, err);
      }
      if (net.internet) internetMembers.add(net.hostIf);
      else internetMembers.delete(net.hostIf);
      nets.set(net.sandboxId, { ...net });
    },

    async cleanupOrphans(keep) {
      const kept = (id: string | undefined) => id !== undefined && (keep.has(id) || pending.has(id));
      /** A veth is kept if its alias or the in-memory owner of its slot is (a setup may not have set the alias yet). */
      const keptLink = (ifname: string, alias: string | undefined) => kept(alias) || kept(slots.owner(names.slotOfHostIf(ifname) ?? -1));
      const removed: string[] = [];
      const deletedIds = new Set<string>();
      const veths = (await listHostVeths(spawner)).filter((v) => names.slotOfHostIf(v.ifname) !== undefined);
      for (const ns of listNetns()) {
        const id = names.sandboxIdOfNetns(ns);
        if (id === undefined || kept(id)) continue;
        await deleteNetns(ns, spawner);
        forget(id);
        deletedIds.add(id);
        removed.push(ns);
      }
      for (const veth of veths) {
        if (keptLink(veth.ifname, veth.alias)) continue;
        // The veth of a netns just deleted goes away by itself; anything else (a setup that died
        // before setting the alias, a netns deleted by hand) is deleted here.
        const goesAway = veth.alias !== undefined && deletedIds.has(veth.alias);
        if (!goesAway || !(await waitLinkGone(veth.ifname, vethGoneTimeoutMs))) {
          await deleteLink(veth.ifname, spawner);
          removed.push(veth.ifname);
        }
        if (veth.alias !== undefined) forget(veth.alias);
      }
      // Elements whose veth is gone or not kept: leftovers of crashes and failed teardowns.
      const current = await nft.elements();
      const stale = (i: string) => !linkExists(i) || !keptLink(i, linkAlias(i));
      const strays = { ifs: current.ifs.filter(stale), internet: current.internet.filter(stale), sources: current.sources.filter(([i]) => stale(i)) };
      const script = renderRemoveElements(names.table, strays);
      if (script !== "") await nft.apply(script);
      for (const i of strays.internet) internetMembers.delete(i);
      if (removed.length > 0) log.warn({ removed }, "removed orphaned sandbox networks");
      return removed;
    },

    async close() {
      await hostWatch.stop();
    },

    async destroy() {
      await hostWatch.stop();
      await nft.deleteTable();
      internetMembers.clear();
    },
  };
}
