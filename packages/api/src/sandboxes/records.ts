import type { Team } from "../auth/keys.js";
import { notFound } from "../errors.js";
import type { ListQuery, SandboxRow, SandboxStore } from "./store.js";

/** What a caller may read about the team's sandboxes; every read is scoped by the team. */
export interface Records {
  /** An active (running or paused) sandbox of the team, or 404. */
  get(team: Team, sandboxId: string): Promise<SandboxRow>;
  list(team: Team, q: ListQuery): ReturnType<SandboxStore["list"]>;
  /** The event log of a sandbox the team ever had (killed ones included), or 404. */
  events(team: Team, sandboxId: string): ReturnType<SandboxStore["events"]>;
}

export function createRecords(store: SandboxStore): Records {
  return {
    async get(team, sandboxId) {
      const row = await store.get(team.id, sandboxId);
      if (row === undefined) throw notFound("sandbox", sandboxId);
      return row;
    },
    list: (team, q) => store.list(team.id, q),
    async events(team, sandboxId) {
      if (!(await store.exists(team.id, sandboxId))) throw notFound("sandbox", sandboxId);
      return store.events(team.id, sandboxId);
    },
  };
}
