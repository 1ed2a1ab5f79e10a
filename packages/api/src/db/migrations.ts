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
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
