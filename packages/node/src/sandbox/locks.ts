/**
 * Serializes operations on one sandbox while different sandboxes proceed in parallel: each id
 * has a promise chain, and an operation starts when the previous one on that id has settled
 * (fulfilled or not).
 */
export interface SandboxLocks {
  run<T>(sandboxId: string, fn: () => Promise<T>): Promise<T>;
  /** Whether an operation on the sandbox is running or queued. */
  busy(sandboxId: string): boolean;
  /** Resolves when every operation queued so far has settled. */
  idle(): Promise<void>;
}

export function createSandboxLocks(): SandboxLocks {
  const tails = new Map<string, Promise<void>>();
  return {
    run(id, fn) {
      const prev = tails.get(id) ?? Promise.resolve();
      const run = prev.then(fn);
      const settled = run.then(
        () => undefined,
        () => undefined,
      );
      tails.set(id, settled);
      void settled.then(() => {
        if (tails.get(id) === settled) tails.delete(id);
      });
      return run;
    },
    busy: (id) => tails.has(id),
    async idle() {
      await Promise.all([...tails.values()]);
    },
  };
}
