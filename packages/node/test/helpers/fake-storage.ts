import { NodeError } from "../../src/errors.js";
import type { SandboxRootfs, StorageManager } from "../../src/storage/index.js";

/** An in-memory StorageManager: a sandbox's disk is an entry in `disks`; nothing is mounted. */
export interface FakeStorage extends StorageManager {
  readonly disks: Map<string, SandboxRootfs>;
  readonly strays: Set<string>;
  failNextPrepare(message?: string): void;
}

export function createFakeStorage(): FakeStorage {
  const disks = new Map<string, SandboxRootfs>();
  const strays = new Set<string>();
  let failPrepare: string | undefined;
  return {
    disks,
    strays,
    failNextPrepare: (message = "fake prepare failed") => void (failPrepare = message),
    async init() {},
    async prepare(sandboxId, options) {
      await Promise.resolve();
      if (failPrepare !== undefined) {
        const message = failPrepare;
        failPrepare = undefined;
        throw new NodeError("runtime_failed", message);
      }
      const rootfs: SandboxRootfs = {
        sandboxId,
        rootfs: `/fake/${sandboxId}/rootfs`,
        filesDir: `/fake/${sandboxId}/files`,
        diskBytes: options.diskBytes,
        handle: { kind: "fake" },
      };
      disks.set(sandboxId, rootfs);
      return rootfs;
    },
    async release(sandboxId) {
      disks.delete(sandboxId);
    },
    async adopt(rootfs) {
      disks.set(rootfs.sandboxId, rootfs);
    },
    async usage() {
      return 0;
    },
    async cleanupOrphans(keep) {
      const removed = [...strays].filter((id) => !keep.has(id) && !disks.has(id));
      for (const id of removed) strays.delete(id);
      return removed;
    },
    async destroy() {},
    async close() {},
  };
}
