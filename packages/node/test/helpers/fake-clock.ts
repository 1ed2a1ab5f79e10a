import type { Clock } from "../../src/sandbox/clock.js";

/** A clock that moves only when the test says so; intervals and sleeps fire inside `advance`. */
export interface FakeClock extends Clock {
  /** Moves time forward, firing due intervals and sleeps in time order, letting promise callbacks run between them. */
  advance(ms: number): Promise<void>;
}

interface Timer {
  at: number;
  fire: () => void;
  /** Re-arms every `period` ms; absent for a sleep. */
  period?: number;
  cancelled?: boolean;
}

export function createFakeClock(start = Date.parse("2030-01-01T00:00:00Z")): FakeClock {
  let now = start;
  const timers: Timer[] = [];
  return {
    now: () => now,
    every(ms, fn) {
      const t: Timer = { at: now + ms, fire: fn, period: ms };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    sleep(ms) {
      return new Promise((resolve) => timers.push({ at: now + ms, fire: resolve }));
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        if (due.period === undefined) timers.splice(timers.indexOf(due), 1);
        else due.at += due.period;
        due.fire();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}

/** Lets queued promise callbacks (and the fakes' tiny awaits) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Waits (in tiny steps, never on the wall clock's timers) until `cond` holds; fails after many rounds. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
