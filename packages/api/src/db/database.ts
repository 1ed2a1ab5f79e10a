import { PGlite } from "@electric-sql/pglite";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import { migrationProvider } from "./migrations.js";
import { PGliteDialect } from "./pglite-dialect.js";
import type { Database } from "./schema.js";

export type DatabaseOptions = { dataDir: string } | { url: string };

/** Embedded Postgres (PGlite) in dataDir, or a Postgres server at url. */
export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  if ("url" in options) {
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: options.url, max: 10 }) }) });
  }
  return new Kysely<Database>({ dialect: new PGliteDialect(new PGlite(options.dataDir)) });
}

/** Brings the schema to the latest migration; throws on the first failure. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
}
