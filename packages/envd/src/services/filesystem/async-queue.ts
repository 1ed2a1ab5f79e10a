/**
 * A single-consumer queue whose take() also wakes up when `signal` aborts or
 * the queue is closed, so a stream handler never stays parked on an await
 * after its client left (connect only runs a generator's cleanup once the
 * generator resumes).
 */
export interface AsyncQueue<T> {
  push(item: T): void;
  /** Ends the queue; take() rejects with `err` once the queued items are drained, or returns undefined without one. */
  close(err?: unknown): void;
  /** Next item, or undefined once closed without error or aborted. */
  take(): Promise<T | undefined>;
}

export function createAsyncQueue<T>(signal: AbortSignal): AsyncQueue<T> {
  const items: T[] = [];
  let closed = false;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  signal.addEventListener("abort", notify, { once: true });

  return {
    push(item) {
      if (closed) return;
      items.push(item);
      notify();
    },
    close(err) {
      if (closed) return;
      closed = true;
      if (err !== undefined) failure = { err };
      notify();
    },
    async take() {
      for (;;) {
        if (signal.aborted) return undefined;
        if (items.length > 0) return items.shift();
        if (closed) {
          if (failure) throw failure.err;
          return undefined;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
