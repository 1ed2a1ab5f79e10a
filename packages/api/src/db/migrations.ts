import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

// Timestamped names; never edit a migration after it lands, add a new one.
const migrations: Record<string, Migration> = {
  "20261202T0930_initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("teams")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable("api_keys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("team_id", "text", (c) => c.notNull().references("teams.id").onDelete("cascade"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("prefix", "text", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("revoked_at", "timestamptz")
        .execute();
      await db.schema
        .createTable("sandboxes")
        .addColumn("sandbox_id", "text", (c) => c.primaryKey())
        .addColumn("team_id", "text", (c) => c.notNull().references("teams.id"))
        .addColumn("template_id", "text", (c) => c.notNull())
        .addColumn("metadata", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn("envd_access_token", "text")
        .addColumn("started_at", "timestamptz", (c) => c.notNull())
        .addColumn("end_at", "timestamptz", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("cpu_count", "integer", (c) => c.notNull())
        .addColumn("memory_mb", "integer", (c) => c.notNull())
        .addColumn("disk_mb", "integer", (c) => c.notNull())
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("killed_at", "timestamptz")
        .execute();
      await db.schema.createIndex("sandboxes_team_state").on("sandboxes").columns(["team_id", "state"]).execute();
      await db.schema
        .createTable("sandbox_events")
        .addColumn("id", "serial", (c) => c.primaryKey())
        .addColumn("sandbox_id", "text", (c) => c.notNull())
        .addColumn("team_id", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("at", "timestamptz", (c) => c.notNull())
        .execute();
    },
  },
  "20261202T1430_limits_tokens_lifecycle": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("teams").addColumn("sandbox_limit", "integer").execute();
      await db.schema
        .alterTable("teams")
        .addColumn("is_admin", "boolean", (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .alterTable("api_keys")
        .addColumn("kind", "text", (c) => c.notNull().defaultTo("api_key"))
        .execute();
      await db.schema.alterTable("api_keys").addColumn("last_used_at", "timestamptz").execute();
      await db.schema
        .alterTable("sandboxes")
        .addColumn("envd_version", "text", (c) => c.notNull().defaultTo("0.6.13"))
        .execute();
      await db.schema
        .alterTable("sandboxes")
        .addColumn("auto_pause", "boolean", (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .alterTable("sandboxes")
        .addColumn("auto_resume", "boolean", (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .alterTable("sandboxes")
        .addColumn("allow_internet_access", "boolean", (c) => c.notNull().defaultTo(true))
        .execute();
      await db.schema.alterTable("sandboxes").addColumn("traffic_access_token", "text").execute();
      await db.schema.alterTable("sandbox_events").addColumn("message", "text").execute();
      await db.schema.createIndex("sandbox_events_sandbox").on("sandbox_events").columns(["sandbox_id", "id"]).execute();
    },
  },
  "20261215T1000_sandbox_metrics": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("sandbox_metrics")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("sandbox_id", "text", (c) => c.notNull())
        .addColumn("team_id", "text", (c) => c.notNull())
        .addColumn("at", "timestamptz", (c) => c.notNull())
        .addColumn("cpu_count", "integer", (c) => c.notNull())
        .addColumn("cpu_used_pct", "double precision", (c) => c.notNull())
        .addColumn("mem_used", "bigint", (c) => c.notNull())
        .addColumn("mem_total", "bigint", (c) => c.notNull())
        .addColumn("mem_cache", "bigint", (c) => c.notNull())
        .addColumn("disk_used", "bigint", (c) => c.notNull())
        .addColumn("disk_total", "bigint", (c) => c.notNull())
        .execute();
      // Unique: a restarted api fetches again what the node still holds; repeats are dropped.
      await db.schema.createIndex("sandbox_metrics_sandbox_at").on("sandbox_metrics").columns(["sandbox_id", "at"]).unique().execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
