/**
 * envd's wire facts that more than one package needs: the port it serves on inside every
 * sandbox, the version reported to SDKs, and the JSON bodies of its HTTP routes that the
 * node and the api exchange with it (spec 5.5, 5.6). envd reports these too.
 */

/** envd's one TCP port inside a sandbox (HTTP/1.1 and h2c, Connect and plain routes). */
export const ENVD_PORT = 49983;

/**
 * The envd version reported to SDKs. The SDK switches features on it (e.g. signed file URLs
 * from 0.1.5, per-request users from 0.4.0), so it names the E2B envd release whose wire
 * behaviour Cove's envd implements.
 */
export const ENVD_VERSION = "0.6.13";

/** The body of `POST /init` (spec 5.6); every field optional, unknown fields ignored by envd. */
export interface EnvdInitBody {
  /** Merged into the sandbox-wide environment. */
  envVars?: Record<string, string>;
  /** Required on every later request in `X-Access-Token`; "" clears it. */
  accessToken?: string;
  defaultUser?: string;
  /** "" clears it. */
  defaultWorkdir?: string;
  /** RFC 3339; envd ignores an init older than the last one it applied. */
  timestamp?: string;
}

/** The body of `GET /metrics` (spec 5.5), snake_case as E2B's envd sends it; bytes unless named otherwise. */
export interface EnvdMetricsBody {
  /** Unix seconds. */
  ts: number;
  cpu_count: number;
  cpu_used_pct: number;
  mem_total: number;
  mem_used: number;
  mem_cache: number;
  mem_total_mib: number;
  mem_used_mib: number;
  disk_used: number;
  disk_total: number;
}
