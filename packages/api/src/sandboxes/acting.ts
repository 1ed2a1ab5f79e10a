import { createCounts } from "./counts.js";

/**
 * Sandboxes this api is pausing or resuming right now. Whoever causes a change writes its
 * event; while the api acts, the node's echo of the same change must not be written again.
 */
export interface Acting {
  /** Runs fn with the sandbox marked as acted on by the api. */
  run<T>(sandboxId: string, fn: () => Promise<T>): Promise<T>;
  has(sandboxId: string): boolean;
}

export function createActing(): Acting {
  const counts = createCounts();
  return {
    async run(sandboxId, fn) {
      counts.add(sandboxId);
      try {
        return await fn();
      } finally {
        counts.remove(sandboxId);
      }
    },
    has: (sandboxId) => counts.get(sandboxId) > 0,
  };
}
