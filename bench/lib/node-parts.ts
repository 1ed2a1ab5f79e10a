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
  /** Prepare when a spare image of the size waits (COVE_SPARE_DISKS, the node's default). */
  storagePrepareSpare: number[];
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
  const parts: Parts = { storagePrepare: [], storagePrepareSpare: [], storageRelease: [], networkSetup: [], networkTeardown: [] };
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
  const spared = createStorageManager({ dataDir: join(o.work, "parts-spare"), spareImages: 1 });
  await spared.init();
  try {
    for (let i = 0; i <= o.runs; i++) {
      const id = newSandboxId();
      // Run 0 only makes the first spare; the refill starts 500 ms after a prepare.
      const samples = i === 0 ? [] : parts.storagePrepareSpare;
      try {
        const rootfs = await timed(samples, () => spared.prepare(id, { lowerDir: o.lowerDir, diskBytes }));
        await spared.release(id, rootfs);
      } finally {
        await spared.release(id).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    await spared.close();
    await spared.destroy();
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
