import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface TeamsTable {
  id: string;
  name: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface ApiKeysTable {
  id: string;
  team_id: string;
  name: string;
  /** sha256 hex of the full key; the key itself is never stored. */
  hash: string;
  /** The first characters of the key, for display. */
  prefix: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  revoked_at: Timestamp | null;
}

export type SandboxRecordState = "running" | "paused" | "killed";

export interface SandboxesTable {
  sandbox_id: string;
  team_id: string;
  template_id: string;
  metadata: ColumnType<Record<string, string>, string, string>;
  envd_access_token: string | null;
  started_at: Timestamp;
  end_at: Timestamp;
  state: SandboxRecordState;
  cpu_count: number;
  memory_mb: number;
  disk_mb: number;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  killed_at: Timestamp | null;
}

export interface SandboxEventsTable {
  id: Generated<number>;
  sandbox_id: string;
  team_id: string;
  type: string;
  reason: string | null;
  at: Timestamp;
}

export interface Database {
  teams: TeamsTable;
  api_keys: ApiKeysTable;
  sandboxes: SandboxesTable;
  sandbox_events: SandboxEventsTable;
}
