import type { EndStatus } from "./end-status.js";

export type OutputStream = "stdout" | "stderr" | "pty";

export type ProcessOutput = { kind: "data"; stream: OutputStream; data: Uint8Array } | { kind: "end"; end: EndStatus };

/** What a waiting reader gets: output, or why it woke up without any. */
export type SubscriptionItem = ProcessOutput | { kind: "idle" } | { kind: "aborted" };

/** One reader's view of a process's output from the moment it subscribed. */
export interface Subscription {
  /** Next output; `idle` after idleMs without any; `aborted` when signal aborts. */
  next(idleMs: number, signal: AbortSignal): Promise<SubscriptionItem>;
  close(): void;
}

export interface OutputHub {
  publish(item: ProcessOutput): void;
  subscribe(): Subscription;
}

/**
 * Fans a process's output out to every attached stream. Each subscriber has
 * its own unbounded queue: a slow client costs memory, never other clients'
 * output. After the end item nothing more is published; a late subscriber
 * gets the end item right away.
 */
export function createOutputHub(): OutputHub {
  const subscribers = new Set<Queue>();
  let end: ProcessOutput | undefined;
  return {
    publish(item) {
      if (end) return;
      if (item.kind === "end") end = item;
      for (const queue of subscribers) queue.push(item);
    },
    subscribe() {
      const queue = createQueue(() => subscribers.delete(queue));
      if (end) queue.push(end);
      else subscribers.add(queue);
      return queue;
    },
  };
}

interface Queue extends Subscription {
  push(item: ProcessOutput): void;
}

function createQueue(onClose: () => void): Queue {
  const items: ProcessOutput[] = [];
  let wake: ((item: SubscriptionItem) => void) | undefined;
  return {
    push(item) {
      if (wake) wake(item);
      else items.push(item);
    },
    next(idleMs, signal) {
      const ready = items.shift();
      if (ready) return Promise.resolve(ready);
      if (signal.aborted) return Promise.resolve({ kind: "aborted" });
      return new Promise((resolve) => {
        const finish = (item: SubscriptionItem): void => {
          wake = undefined;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(item);
        };
        const onAbort = (): void => finish({ kind: "aborted" });
        const timer = setTimeout(() => finish({ kind: "idle" }), idleMs);
        signal.addEventListener("abort", onAbort, { once: true });
        wake = finish;
      });
    },
    close() {
      items.length = 0;
      onClose();
    },
  };
}
