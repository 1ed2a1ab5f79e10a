import type { Sandbox as NodeSandbox } from "@cove/protocol/nodeapi";
import type { Logger } from "pino";
import type { Acting } from "./acting.js";
import { recordFields } from "./node-state.js";
import type { EventReason, SandboxStore } from "./store.js";

export interface NodeEventsOptions {
  /** The route cache's store: its writes drop the sandbox's routes. */
  store: SandboxStore;
  logger: Logger;
  acting: Acting;
}

/**
 * What the event sync writes for changes the node reports. Each writes its event only when
 * it changes the record, so a change the api caused (and already wrote) is not written twice.
 */
export function createNodeEvents(options: NodeEventsOptions) {
  const { store, logger, acting } = options;
  return {
    /** State the node reports for a sandbox (the reconciler's correction). */
    async applyNodeState(sandboxId: string, s: NodeSandbox): Promise<void> {
      await store.update(sandboxId, recordFields(s));
    },

    async recordNodeKill(sandboxId: string, reason: EventReason, message: string | undefined, at: Date): Promise<void> {
      const row = await store.getActive(sandboxId);
      if (row === undefined) return;
      if (await store.markKilled(sandboxId, at)) {
        await store.addEvent({ sandboxId, teamId: row.team_id, type: "killed", reason, ...(message ? { message } : {}), at });
        logger.info({ sandboxId, teamId: row.team_id, reason, ...(message ? { detail: message } : {}) }, "sandbox killed by the node");
      }
    },

    async recordNodePause(sandboxId: string, s: NodeSandbox | undefined, reason: EventReason, at: Date): Promise<void> {
      if (acting.has(sandboxId)) return;
      const row = await store.getActive(sandboxId);
      if (row === undefined || row.state === "paused") return;
      await store.update(sandboxId, s ? recordFields(s) : { state: "paused" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "paused", reason, at });
    },

    async recordNodeResume(sandboxId: string, s: NodeSandbox | undefined, at: Date): Promise<void> {
      if (acting.has(sandboxId)) return;
      const row = await store.getActive(sandboxId);
      if (row === undefined || row.state === "running") return;
      await store.update(sandboxId, s ? recordFields(s) : { state: "running" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "resumed", reason: "request", at });
    },
  };
}
