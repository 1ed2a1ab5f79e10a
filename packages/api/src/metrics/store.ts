import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** One stored sample, as the routes render it. */
export interface MetricRow {
  at: Date;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

export interface NewMetric extends MetricRow {
  sandboxId: string;
}

const COLUMNS = ["at", "cpu_count", "cpu_used_pct", "mem_used", "mem_total", "mem_cache", "disk_used", "disk_total"] as const;

function toRow(r: {
  at: Date;
  cpu_count: number;
  cpu_used_pct: number;
  mem_used: string | number;
  mem_total: string | number;
  mem_cache: string | number;
  disk_used: string | number;
  disk_total: string | number;
}): MetricRow {
  return {
    at: r.at,
    cpuCount: r.cpu_count,
    cpuUsedPct: Number(r.cpu_used_pct),
    memUsed: Number(r.mem_used),
    memTotal: Number(r.mem_total),
    memCache: Number(r.mem_cache),
    diskUsed: Number(r.disk_used),
    diskTotal: Number(r.disk_total),
  };
}

/** Sandboxes' resource history: written from the node's samples, read scoped by team. */
export function createMetricsStore(db: Kysely<Database>) {
  return {
    /**
     * Stores samples of sandboxes the api has a record of, under the record's team; samples of
     * others (a warm pool's sandboxes, not handed out yet) are dropped. Returns how many were kept.
     */
    async insert(samples: NewMetric[]): Promise<number> {
      if (samples.length === 0) return 0;
      const ids = [...new Set(samples.map((s) => s.sandboxId))];
      const owners = await db.selectFrom("sandboxes").select(["sandbox_id", "team_id"]).where("sandbox_id", "in", ids).execute();
      const teamOf = new Map(owners.map((o) => [o.sandbox_id, o.team_id]));
      const rows = samples.flatMap((s) => {
        const team = teamOf.get(s.sandboxId);
        if (team === undefined) return [];
        return [
          {
            sandbox_id: s.sandboxId,
            team_id: team,
            at: s.at,
            cpu_count: s.cpuCount,
            cpu_used_pct: s.cpuUsedPct,
            mem_used: s.memUsed,
            mem_total: s.memTotal,
            mem_cache: s.memCache,
            disk_used: s.diskUsed,
            disk_total: s.diskTotal,
          },
        ];
      });
      if (rows.length > 0)
        await db
          .insertInto("sandbox_metrics")
          .values(rows)
          .onConflict((oc) => oc.columns(["sandbox_id", "at"]).doNothing())
          .execute();
      return rows.length;
    },

    /** Did the team ever have this sandbox (killed ones included)? */
    async known(teamId: string, sandboxId: string): Promise<boolean> {
      const r = await db.selectFrom("sandboxes").select("sandbox_id").where("team_id", "=", teamId).where("sandbox_id", "=", sandboxId).executeTakeFirst();
      return r !== undefined;
    },

    /** The team's samples of one sandbox in [start, end), oldest first; bounds optional. */
    async range(teamId: string, sandboxId: string, start?: Date, end?: Date): Promise<MetricRow[]> {
      let q = db.selectFrom("sandbox_metrics").select(COLUMNS).where("team_id", "=", teamId).where("sandbox_id", "=", sandboxId);
      if (start !== undefined) q = q.where("at", ">=", start);
      if (end !== undefined) q = q.where("at", "<", end);
      return (await q.orderBy("at", "asc").execute()).map(toRow);
    },

    /** The newest sample of each of the team's listed sandboxes. */
    async latest(teamId: string, sandboxIds: string[]): Promise<Map<string, MetricRow>> {
      if (sandboxIds.length === 0) return new Map();
      const rows = await db
        .selectFrom("sandbox_metrics")
        .select(["sandbox_id", ...COLUMNS])
        .distinctOn("sandbox_id")
        .where("team_id", "=", teamId)
        .where("sandbox_id", "in", sandboxIds)
        .orderBy("sandbox_id")
        .orderBy("at", "desc")
        .execute();
      return new Map(rows.map((r) => [r.sandbox_id, toRow(r)]));
    },

    /**
     * Drops the history of sandboxes killed before `cutoff`, and samples older than it whose
     * sandbox has no record at all. A live sandbox keeps its whole history.
     */
    async prune(cutoff: Date): Promise<number> {
      const r = await db
        .deleteFrom("sandbox_metrics")
        .where((eb) =>
          eb.or([
            eb("sandbox_id", "in", eb.selectFrom("sandboxes").select("sandbox_id").where("state", "=", "killed").where("killed_at", "<", cutoff)),
            eb.and([
              eb("at", "<", cutoff),
              eb.not(eb.exists(eb.selectFrom("sandboxes").select(sql`1`.as("one")).whereRef("sandboxes.sandbox_id", "=", "sandbox_metrics.sandbox_id"))),
            ]),
          ]),
        )
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type MetricsStore = ReturnType<typeof createMetricsStore>;
