import type { SandboxEvent } from "./types.js";

/** In-process fan-out of lifecycle events to any number of subscribers. */
export interface EventHub {
  publish(event: SandboxEvent): void;
  subscribe(signal: AbortSignal): AsyncIterable<SandboxEvent>;
}

/** Events queued for one slow subscriber before it is dropped (it can re-subscribe and re-list). */
const maxQueued = 10_000;

export function createEventHub(): EventHub {
  const subscribers = new Set<(event: SandboxEvent | undefined) => void>();
  return {
    publish(event) {
      for (const push of subscribers) push(event);
    },
    subscribe(signal) {
      return {
        [Symbol.asyncIterator]() {
          const queue: SandboxEvent[] = [];
          let wake: (() => void) | undefined;
          let ended = signal.aborted;
          const push = (event: SandboxEvent | undefined) => {
            if (event === undefined || queue.length >= maxQueued) ended = true;
            else queue.push(event);
            wake?.();
          };
          const stop = () => push(undefined);
          if (!ended) {
            subscribers.add(push);
            signal.addEventListener("abort", stop, { once: true });
          }
          const cleanup = () => {
            subscribers.delete(push);
            signal.removeEventListener("abort", stop);
          };
          return {
            async next(): Promise<IteratorResult<SandboxEvent>> {
              for (;;) {
                const event = queue.shift();
                if (event) return { value: event, done: false };
                if (ended) {
                  cleanup();
                  return { value: undefined, done: true };
                }
                await new Promise<void>((resolve) => (wake = resolve));
                wake = undefined;
              }
            },
            async return(): Promise<IteratorResult<SandboxEvent>> {
              ended = true;
              cleanup();
              return { value: undefined, done: true };
            },
          };
        },
      };
    },
  };
}
