// The storage and network steps of a sandbox create, timed on their own
// managers (own data dir, own network prefix and pool), outside any node.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createNetworkManager } from "../../packages/node/src/network/index.js";
import { newSandboxId } from "../../packages/node/src/sandbox/ids.js";
import { createStorageManager } from "../../packages/node/src/storage/index.js";

export interface PartsOptions {
  work: string;
  lowerDir: string;
  runs: number;
  prefix: string;
  cidr: string;
  /** The disk size the node gives a base sandbox. */
  diskBytes?: number;
}

export interface Parts {
  storagePrepare: number[];
  storageRelease: number[];
  networkSetup: number[];
  networkTeardown: number[];
}

async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  samples.push(performance.now() - t0);
  return out;
}

/** Each part `runs` times, sequentially, as the node does per create; everything is removed again. */
export async function measureParts(o: PartsOptions): Promise<Parts> {
  const parts: Parts = { storagePrepare: [], storageRelease: [], networkSetup: [], networkTeardown: [] };
  const diskBytes = o.diskBytes ?? 2048 * 1024 * 1024;
  const storage = createStorageManager({ dataDir: join(o.work, "parts") });
  await storage.init();
  try {
    for (let i = 0; i < o.runs; i++) {
      const id = newSandboxId();
      try {
        const rootfs = await timed(parts.storagePrepare, () => storage.prepare(id, { lowerDir: o.lowerDir, diskBytes }));
        await timed(parts.storageRelease, () => storage.release(id, rootfs));
      } finally {
        await storage.release(id).catch(() => undefined);
      }
    }
  } finally {
    await storage.destroy();
  }
  const network = createNetworkManager({ pool: o.cidr, prefix: o.prefix, dnsServers: ["127.0.0.1"] });
  await network.init();
  try {
    for (let i = 0; i < o.runs; i++) {
      const id = newSandboxId();
      const net = await timed(parts.networkSetup, () => network.setup(id, { internet: true }));
      await timed(parts.networkTeardown, () => network.teardown(net));
    }
  } finally {
    await network.cleanupOrphans(new Set()).catch(() => undefined);
    await network.destroy();
  }
  return parts;
}
