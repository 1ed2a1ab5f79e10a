import { NodeError } from "../../src/errors.js";
import type { NetworkManager, SandboxNetwork } from "../../src/network/index.js";

/** An in-memory NetworkManager: a sandbox's network is an entry in `nets`; no namespaces, no nft. */
export interface FakeNetwork extends NetworkManager {
  readonly nets: Map<string, SandboxNetwork>;
  /** Sandbox ids whose leftovers exist on the "host" without a record (for cleanupOrphans). */
  readonly strays: Set<string>;
  readonly internetChanges: Array<{ sandboxId: string; internet: boolean }>;
  failNextSetup(message?: string): void;
}

export function createFakeNetwork(): FakeNetwork {
  const nets = new Map<string, SandboxNetwork>();
  const strays = new Set<string>();
  const internetChanges: Array<{ sandboxId: string; internet: boolean }> = [];
  let nextIndex = 1;
  let failSetup: string | undefined;
  return {
    nets,
    strays,
    internetChanges,
    failNextSetup: (message = "fake network setup failed") => void (failSetup = message),
    async init() {},
    async setup(sandboxId, options) {
      await Promise.resolve();
      if (failSetup !== undefined) {
        const message = failSetup;
        failSetup = undefined;
        throw new NodeError("runtime_failed", message);
      }
      const index = options.index ?? nextIndex++;
      const net: SandboxNetwork = {
        sandboxId,
        index,
        netnsName: `fk-${sandboxId}`,
        netnsPath: `/var/run/netns/fk-${sandboxId}`,
        hostIf: `fk${index}`,
        hostAddress: `10.9.${index}.1`,
        sandboxAddress: `10.9.${index}.2`,
        internet: options.internet,
      };
      nets.set(sandboxId, net);
      return net;
    },
    async setInternet(sandboxId, internet) {
      const net = nets.get(sandboxId);
      if (!net) throw new NodeError("not_found", `no network for ${sandboxId}`);
      net.internet = internet;
      internetChanges.push({ sandboxId, internet });
    },
    async teardown(net) {
      nets.delete(net.sandboxId);
    },
    async adopt(net) {
      nets.set(net.sandboxId, net);
    },
    async cleanupOrphans(keep) {
      const removed = [...strays].filter((id) => !keep.has(id) && !nets.has(id));
      for (const id of removed) strays.delete(id);
      return removed.map((id) => `fk-${id}`);
    },
    async close() {},
    async destroy() {},
  };
}
