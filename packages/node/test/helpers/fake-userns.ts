import type { SandboxUserns, UsernsManager } from "../../src/userns/index.js";

/** An in-memory UsernsManager: each sandbox holds a block of ids in `held`. */
export interface FakeUserns extends UsernsManager {
  readonly held: Map<string, SandboxUserns>;
}

export function createFakeUserns(): FakeUserns {
  const held = new Map<string, SandboxUserns>();
  let next = 0;
  return {
    held,
    async init() {},
    async create(sandboxId) {
      const userns = { path: `/fake/userns/${sandboxId}`, uidBase: 100_000 + 65_536 * next++, size: 65_536 };
      held.set(sandboxId, userns);
      return userns;
    },
    async createNetns() {},
    async adopt(sandboxId, userns) {
      held.set(sandboxId, userns);
    },
    async release(sandboxId) {
      held.delete(sandboxId);
    },
    async cleanupOrphans() {
      return [];
    },
  };
}
