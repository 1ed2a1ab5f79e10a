export { createDatabase, migrate, type DatabaseOptions } from "./db/database.js";
export { PGliteDialect } from "./db/pglite-dialect.js";
export type { Database, SandboxRecordState } from "./db/schema.js";
export { createTeamWithKey, findTeamByKey, hashKey } from "./auth/keys.js";
