import type { ColumnType, Generated } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface TeamsTable {
  id: string;
  name: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  /** Concurrent running sandboxes; null means the api's default. */
  sandbox_limit: number | null;
  /** The team `cove up` creates; may create teams. */
  is_admin: ColumnType<boolean, boolean | undefined, boolean>;
}

export type KeyKind = "api_key" | "access_token";

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
  /** api_key: sent as X-API-Key (e2b_…); access_token: sent as a bearer token (sk_e2b_…). */
  kind: ColumnType<KeyKind, KeyKind | undefined, KeyKind>;
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  envd_version: string;
  auto_pause: boolean;
  /** Traffic through the proxy resumes it when paused. */
  auto_resume: boolean;
  allow_internet_access: boolean;
  /** Set when the sandbox is not public: the proxy requires it on non-envd ports. */
  traffic_access_token: string | null;
}

export interface SandboxEventsTable {
  id: Generated<number>;
  sandbox_id: string;
  team_id: string;
  type: string;
  reason: string | null;
  message: ColumnType<string | null, string | null | undefined, string | null>;
  at: Timestamp;
}

/** Byte counts are bigint columns: drivers hand them back as strings (pg) or numbers. */
type Bytes = ColumnType<string | number, number, number>;

export interface SandboxMetricsTable {
  id: Generated<string>;
  sandbox_id: string;
  team_id: string;
  at: Timestamp;
  cpu_count: number;
  cpu_used_pct: number;
  mem_used: Bytes;
  mem_total: Bytes;
  mem_cache: Bytes;
  disk_used: Bytes;
  disk_total: Bytes;
}

export interface Database {
  teams: TeamsTable;
  api_keys: ApiKeysTable;
  sandboxes: SandboxesTable;
  sandbox_events: SandboxEventsTable;
  sandbox_metrics: SandboxMetricsTable;
}
