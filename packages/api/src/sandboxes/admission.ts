import type { Team } from "../auth/keys.js";
import { ApiError } from "../errors.js";
import { createCounts } from "./counts.js";
import type { SandboxStore } from "./store.js";

export interface AdmissionOptions {
  store: Pick<SandboxStore, "countRunning">;
  /** Concurrent running sandboxes per team unless the team has its own limit. */
  defaultSandboxLimit: number;
}

/** What admission needs of a team: a caller's `Team`, or a record's team looked up for auto-resume. */
export type TeamLimit = Pick<Team, "id" | "sandboxLimit">;

/** Slots for sandboxes about to run: a taken slot counts against the team's limit until `release`. */
export interface Admission {
  /** Takes a slot or throws 429 (rate_limited, Retry-After 1). */
  admit(team: TeamLimit): Promise<void>;
  /** Gives the slot back once the record says running (then the record counts) or the attempt failed. */
  release(team: TeamLimit): void;
}

/**
 * Admission against the team's limit of running sandboxes, for creates and resumes. Paused
 * sandboxes do not count. Checks run one at a time per team, and sandboxes admitted but not
 * yet recorded as running count as running, so concurrent creates and resumes can never
 * together pass the limit.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const pending = createCounts();
  const chains = new Map<string, Promise<void>>();

  return {
    async admit(team) {
      const previous = chains.get(team.id) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((r) => (done = r));
      const chain = previous.then(() => mine);
      chains.set(team.id, chain);
      await previous;
      try {
        const limit = team.sandboxLimit ?? options.defaultSandboxLimit;
        const used = (await options.store.countRunning(team.id)) + pending.get(team.id);
        if (used >= limit) {
          throw new ApiError("rate_limited", `team has reached its limit of ${limit} concurrent sandboxes`, { retryAfterSeconds: 1 });
        }
        pending.add(team.id);
      } finally {
        done();
        if (chains.get(team.id) === chain) chains.delete(team.id);
      }
    },
    release: (team) => pending.remove(team.id),
  };
}
