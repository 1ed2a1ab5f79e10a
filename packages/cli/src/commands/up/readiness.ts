/**
 * Whether the node is up, for callers that must wait while it restarts. One pending period
 * lasts from the first crash until whichever node comes up next, however many crash in
 * between: a waiter that arrived during an earlier restart is released by the same node as
 * one that arrived during the latest.
 */
export interface ReadinessGate {
  /** The node went away (again). */
  down(): void;
  /** A node is ready: everyone waiting is released. */
  up(): void;
  /** Resolves at once while up; otherwise when up() is next called, or rejects after timeoutMs. */
  wait(timeoutMs: number): Promise<void>;
}

export class NodeRestartTimeout extends Error {
  readonly code = "unavailable" as const;
  constructor(timeoutMs: number) {
    super(`the node is restarting and was not back within ${timeoutMs / 1000} s`);
    this.name = "NodeRestartTimeout";
  }
}

export function createReadinessGate(): ReadinessGate {
  let pending: { promise: Promise<void>; release: () => void } | undefined;
  return {
    down() {
      if (pending !== undefined) return;
      let release: () => void = () => undefined;
      const promise = new Promise<void>((r) => (release = r));
      pending = { promise, release };
    },
    up() {
      pending?.release();
      pending = undefined;
    },
    wait(timeoutMs) {
      if (pending === undefined) return Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NodeRestartTimeout(timeoutMs)), timeoutMs);
        timer.unref();
      });
      return Promise.race([pending.promise, late]).finally(() => clearTimeout(timer));
    },
  };
}
