export { createDatabase, migrate, type DatabaseOptions } from "./db/database.js";
export { PGliteDialect } from "./db/pglite-dialect.js";
export type { Database, KeyKind, SandboxRecordState } from "./db/schema.js";
export {
  authenticate,
  createKey,
  createTeam,
  createTeamWithKey,
  findTeamByKey,
  hashKey,
  listKeys,
  revokeKey,
  type CreatedKey,
  type KeyInfo,
  type Team,
} from "./auth/keys.js";
export { createApi, type Api, type ApiOptions } from "./app.js";
export { ApiError, type ApiErrorCode } from "./errors.js";
export { loadApiConfig, type ApiConfig } from "./config.js";
export type { SandboxService } from "./sandboxes/service.js";
export type { ReconcileReport, Sync } from "./sandboxes/sync.js";
export { readNodeSecret } from "./config.js";
export { startApi, type RunningApi, type StartApiOptions } from "./start.js";
export { createSandboxService } from "./sandboxes/service.js";
export { createSandboxStore } from "./sandboxes/store.js";
export { createNodeBuildFiles } from "./templates/node-build-files.js";
