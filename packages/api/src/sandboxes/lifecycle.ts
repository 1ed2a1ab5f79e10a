import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Logger } from "pino";
import type { Team } from "../auth/keys.js";
import { ApiError, notFound } from "../errors.js";
import type { Acting } from "./acting.js";
import type { Admission, TeamLimit } from "./admission.js";
import { checkTimeout } from "./limits.js";
import { fromNodeError, isNodeNotFound } from "./node-errors.js";
import { recordFields } from "./node-state.js";
import type { Records } from "./records.js";
import type { SandboxRow, SandboxStore } from "./store.js";

export interface LifecycleOptions {
  /** The route cache's store: its writes drop the sandbox's routes. */
  store: SandboxStore;
  node: NodeClient;
  logger: Logger;
  records: Records;
  acting: Acting;
  /** A resumed sandbox runs again: it needs a slot under the team's limit like a create. */
  admission: Admission;
  maxTimeoutSeconds: number;
}

/**
 * Changes to existing sandboxes that a caller (or the proxy) asks for: the node does the
 * work, then the record and the event are written here, by whoever caused the change.
 */
export function createLifecycle(options: LifecycleOptions) {
  const { store, node, logger, records, acting, admission } = options;
  const limit = (seconds: number) => checkTimeout(seconds, options.maxTimeoutSeconds);

  /** The node lost a sandbox its record says is alive: close the record. */
  async function lost(row: SandboxRow, message: string): Promise<void> {
    if (await store.markKilled(row.sandbox_id, new Date())) {
      await store.addEvent({ sandboxId: row.sandbox_id, teamId: row.team_id, type: "killed", reason: "error", message });
    }
  }

  /** A node call about a recorded sandbox: the node's not-found closes the record and is the caller's 404. */
  async function nodeCall<T>(row: SandboxRow, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isNodeNotFound(err)) {
        await lost(row, "the node no longer has this sandbox");
        throw notFound("sandbox", row.sandbox_id);
      }
      throw fromNodeError(err);
    }
  }

  async function kill(team: Team, sandboxId: string): Promise<void> {
    const row = await records.get(team, sandboxId);
    try {
      await node.killSandbox({ sandboxId });
    } catch (err) {
      if (!isNodeNotFound(err)) throw fromNodeError(err);
    }
    // markKilled is true only for the first writer, so the node's echo adds no second event.
    if (await store.markKilled(sandboxId, new Date())) {
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "killed", reason: "request" });
    }
    logger.info({ sandboxId, teamId: row.team_id }, "sandbox killed");
  }

  async function setTimeout(team: Team, sandboxId: string, seconds: number): Promise<SandboxRow> {
    limit(seconds);
    const row = await records.get(team, sandboxId);
    const res = await nodeCall(row, () => node.setTimeout({ sandboxId, timeoutMs: seconds * 1000 }));
    if (res.sandbox) await store.update(sandboxId, recordFields(res.sandbox));
    return records.get(team, sandboxId);
  }

  async function pause(team: Team, sandboxId: string): Promise<void> {
    const row = await records.get(team, sandboxId);
    if (row.state === "paused") throw new ApiError("conflict", `sandbox '${sandboxId}' is already paused`);
    await acting.run(sandboxId, async () => {
      const res = await nodeCall(row, () => node.pauseSandbox({ sandboxId }));
      await store.update(sandboxId, res.sandbox ? recordFields(res.sandbox) : { state: "paused" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "paused", reason: "request" });
    });
    logger.info({ sandboxId, teamId: row.team_id }, "sandbox paused");
  }

  /** Resumes a paused record; `via` names who asked (resume, connect, traffic) in the event. */
  async function resumeRow(team: TeamLimit, row: SandboxRow, timeoutSeconds: number | undefined, via: string): Promise<SandboxRow> {
    await admission.admit(team);
    try {
      return await acting.run(row.sandbox_id, async () => {
        const res = await nodeCall(row, () =>
          node.resumeSandbox({ sandboxId: row.sandbox_id, ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}) }),
        );
        await store.update(row.sandbox_id, res.sandbox ? recordFields(res.sandbox) : { state: "running" });
        await store.addEvent({ sandboxId: row.sandbox_id, teamId: row.team_id, type: "resumed", reason: "request", message: via });
        logger.info({ sandboxId: row.sandbox_id, teamId: row.team_id, via }, "sandbox resumed");
        return (await store.getActive(row.sandbox_id)) ?? row;
      });
    } finally {
      admission.release(team);
    }
  }

  return {
    lost,
    nodeCall,
    kill,
    setTimeout,
    pause,

    /** Deprecated resume: 409 when running. */
    async resume(team: Team, sandboxId: string, timeoutSeconds: number | undefined): Promise<SandboxRow> {
      if (timeoutSeconds !== undefined) limit(timeoutSeconds);
      const row = await records.get(team, sandboxId);
      if (row.state === "running") throw new ApiError("conflict", `sandbox '${sandboxId}' is already running`);
      return resumeRow(team, row, timeoutSeconds, "resume");
    },

    /** Resumes a paused sandbox; for a running one only ever extends its lifetime. */
    async connect(team: Team, sandboxId: string, timeoutSeconds: number): Promise<{ row: SandboxRow; resumed: boolean }> {
      limit(timeoutSeconds);
      const row = await records.get(team, sandboxId);
      if (row.state === "paused") return { row: await resumeRow(team, row, timeoutSeconds, "connect"), resumed: true };
      if (Date.now() + timeoutSeconds * 1000 > row.end_at.getTime()) return { row: await setTimeout(team, sandboxId, timeoutSeconds), resumed: false };
      return { row, resumed: false };
    },

    /** Extends (never shortens) the lifetime to `seconds` from now. */
    async refresh(team: Team, sandboxId: string, seconds: number): Promise<void> {
      limit(seconds);
      const row = await records.get(team, sandboxId);
      if (Date.now() + seconds * 1000 > row.end_at.getTime()) await setTimeout(team, sandboxId, seconds);
    },

    /** For the proxy: traffic reached a paused sandbox; resume it if it asked for that. */
    async wake(sandboxId: string): Promise<boolean> {
      const row = await store.getActive(sandboxId);
      if (row === undefined || !row.auto_resume) return false;
      if (row.state === "running") return true;
      try {
        await resumeRow({ id: row.team_id, sandboxLimit: await store.teamLimit(row.team_id) }, row, undefined, "traffic");
        return true;
      } catch (err) {
        logger.warn({ err, sandboxId }, "auto-resume failed");
        return false;
      }
    },
  };
}
