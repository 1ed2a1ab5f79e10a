import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, SandboxesTable, SandboxRecordState } from "../db/schema.js";

export type SandboxRow = Selectable<SandboxesTable>;

export type EventType = "created" | "paused" | "resumed" | "killed";
export type EventReason = "request" | "timeout" | "error";

export interface ListQuery {
  states: ("running" | "paused")[];
  /** Exact matches, ANDed. */
  metadata?: Record<string, string>;
  startedAfter?: Date;
  template?: string;
  order: "asc" | "desc";
  limit: number;
  /** From a previous page's nextToken. */
  after?: { startedAt: Date; sandboxId: string };
}

const ACTIVE: SandboxRecordState[] = ["running", "paused"];

/**
 * started_at as clients know it: JS Dates carry milliseconds, timestamptz microseconds. Bounds
 * and page tokens come back at millisecond precision, so filters and the page order use this.
 */
const STARTED_MS = sql<Date>`date_trunc('milliseconds', started_at)`;

/** Sandbox records and their event log. Every read that a caller can reach is scoped by team. */
export function createSandboxStore(db: Kysely<Database>) {
  return {
    /** The record and its `created` event, in one statement: never one without the other. */
    async insert(row: Omit<SandboxRow, "created_at" | "killed_at" | "metadata"> & { metadata: Record<string, string> }): Promise<void> {
      await db
        .with("made", (qb) =>
          qb
            .insertInto("sandboxes")
            .values({ ...row, metadata: JSON.stringify(row.metadata), killed_at: null })
            .returning(["sandbox_id", "team_id", "started_at"]),
        )
        .insertInto("sandbox_events")
        .columns(["sandbox_id", "team_id", "type", "reason", "message", "at"])
        .expression((eb) =>
          eb
            .selectFrom("made")
            .select((s) => [
              "made.sandbox_id",
              "made.team_id",
              s.val("created").as("type"),
              s.val(null).as("reason"),
              s.val(null).as("message"),
              "made.started_at",
            ]),
        )
        .execute();
    },

    /** An active (running or paused) sandbox of the team. */
    async get(teamId: string, sandboxId: string): Promise<SandboxRow | undefined> {
      return db
        .selectFrom("sandboxes")
        .selectAll()
        .where("team_id", "=", teamId)
        .where("sandbox_id", "=", sandboxId)
        .where("state", "in", ACTIVE)
        .executeTakeFirst();
    },

    /** Any team's active sandbox: for the proxy and the event sync, never for a caller's query. */
    async getActive(sandboxId: string): Promise<SandboxRow | undefined> {
      return db.selectFrom("sandboxes").selectAll().where("sandbox_id", "=", sandboxId).where("state", "in", ACTIVE).executeTakeFirst();
    },

    async listActive(): Promise<SandboxRow[]> {
      return db.selectFrom("sandboxes").selectAll().where("state", "in", ACTIVE).execute();
    },

    async list(teamId: string, q: ListQuery): Promise<{ rows: SandboxRow[]; more: boolean; totalRunning: number }> {
      let query = db.selectFrom("sandboxes").selectAll().where("team_id", "=", teamId).where("state", "in", ACTIVE);
      if (q.metadata !== undefined && Object.keys(q.metadata).length > 0) {
        query = query.where(sql<boolean>`metadata @> ${JSON.stringify(q.metadata)}::jsonb`);
      }
      // Inclusive, at the millisecond precision callers see (startedAt goes out as a JS Date's
      // ISO string and comes back as the bound), whatever precision the column holds.
      if (q.startedAfter !== undefined) query = query.where(STARTED_MS, ">=", q.startedAfter);
      if (q.template !== undefined) query = query.where("template_id", "=", q.template);
      // X-Total-Running counts running matches whatever the state filter says.
      const filtered = query;
      query = query.where("state", "in", q.states);
      if (q.after !== undefined) {
        const { startedAt, sandboxId } = q.after;
        query =
          q.order === "desc"
            ? query.where((eb) => eb.or([eb(STARTED_MS, "<", startedAt), eb.and([eb(STARTED_MS, "=", startedAt), eb("sandbox_id", "<", sandboxId)])]))
            : query.where((eb) => eb.or([eb(STARTED_MS, ">", startedAt), eb.and([eb(STARTED_MS, "=", startedAt), eb("sandbox_id", ">", sandboxId)])]));
      }
      const rows = await query
        .orderBy(STARTED_MS, q.order)
        .orderBy("sandbox_id", q.order)
        .limit(q.limit + 1)
        .execute();
      const running = await filtered
        .clearSelect()
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("state", "=", "running")
        .executeTakeFirstOrThrow();
      return { rows: rows.slice(0, q.limit), more: rows.length > q.limit, totalRunning: Number(running.n) };
    },

    /** The team's own limit of running sandboxes; null for the api's default (or no such team). */
    async teamLimit(teamId: string): Promise<number | null> {
      const r = await db.selectFrom("teams").select("sandbox_limit").where("id", "=", teamId).executeTakeFirst();
      return r?.sandbox_limit ?? null;
    },

    async countRunning(teamId: string): Promise<number> {
      const r = await db
        .selectFrom("sandboxes")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("team_id", "=", teamId)
        .where("state", "=", "running")
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** Applies what the node reports; a killed record stays killed. */
    async update(sandboxId: string, fields: { state?: "running" | "paused"; endAt?: Date; startedAt?: Date }): Promise<void> {
      const set: { state?: SandboxRecordState; end_at?: Date; started_at?: Date } = {};
      if (fields.state !== undefined) set.state = fields.state;
      if (fields.endAt !== undefined) set.end_at = fields.endAt;
      if (fields.startedAt !== undefined) set.started_at = fields.startedAt;
      if (Object.keys(set).length === 0) return;
      await db.updateTable("sandboxes").set(set).where("sandbox_id", "=", sandboxId).where("state", "in", ACTIVE).execute();
    },

    /** Marks an active record killed; false when it already was (so the event is written once). */
    async markKilled(sandboxId: string, at: Date): Promise<boolean> {
      const r = await db
        .updateTable("sandboxes")
        .set({ state: "killed", killed_at: at })
        .where("sandbox_id", "=", sandboxId)
        .where("state", "in", ACTIVE)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async addEvent(e: { sandboxId: string; teamId: string; type: EventType; reason?: EventReason; message?: string; at?: Date }): Promise<void> {
      await db
        .insertInto("sandbox_events")
        .values({ sandbox_id: e.sandboxId, team_id: e.teamId, type: e.type, reason: e.reason ?? null, message: e.message ?? null, at: e.at ?? new Date() })
        .execute();
    },

    async events(teamId: string, sandboxId: string, limit = 1000) {
      return db
        .selectFrom("sandbox_events")
        .selectAll()
        .where("team_id", "=", teamId)
        .where("sandbox_id", "=", sandboxId)
        .orderBy("id", "asc")
        .limit(limit)
        .execute();
    },

    /** Was this sandbox ever the team's (killed ones included)? For logs of dead sandboxes. */
    async exists(teamId: string, sandboxId: string): Promise<boolean> {
      const r = await db.selectFrom("sandboxes").select("sandbox_id").where("team_id", "=", teamId).where("sandbox_id", "=", sandboxId).executeTakeFirst();
      return r !== undefined;
    },
  };
}

export type SandboxStore = ReturnType<typeof createSandboxStore>;
