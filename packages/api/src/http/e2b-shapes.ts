import type { SandboxRow } from "../sandboxes/store.js";
import { parseTime, SANDBOX_ID } from "./validate.js";

// E2B's responses always carry this constant (deprecated field, spec 3.3).
const CLIENT_ID = "6532622b";

/** `Sandbox` (create / connect responses). */
export function sandboxBody(row: SandboxRow, domain: string | null) {
  return {
    sandboxID: row.sandbox_id,
    templateID: row.template_id,
    clientID: CLIENT_ID,
    envdVersion: row.envd_version,
    ...(row.envd_access_token ? { envdAccessToken: row.envd_access_token } : {}),
    trafficAccessToken: row.traffic_access_token,
    domain,
  };
}

/** `ListedSandbox`. */
export function listedBody(row: SandboxRow) {
  return {
    sandboxID: row.sandbox_id,
    templateID: row.template_id,
    alias: row.template_id,
    clientID: CLIENT_ID,
    startedAt: row.started_at.toISOString(),
    endAt: row.end_at.toISOString(),
    cpuCount: row.cpu_count,
    memoryMB: row.memory_mb,
    diskSizeMB: row.disk_mb,
    envdVersion: row.envd_version,
    state: row.state,
    metadata: row.metadata,
    volumeMounts: [],
  };
}

/** `SandboxDetail`. */
export function detailBody(row: SandboxRow, domain: string | null) {
  return {
    ...listedBody(row),
    allowInternetAccess: row.allow_internet_access,
    domain,
    ...(row.envd_access_token ? { envdAccessToken: row.envd_access_token } : {}),
    network: { allowPublicTraffic: row.traffic_access_token === null },
    lifecycle: { onTimeout: row.auto_pause ? "pause" : "kill", autoResume: row.auto_resume },
  };
}

/** Opaque page token: base64url of `startedAt__sandboxId`. */
export function encodeNextToken(row: SandboxRow): string {
  return Buffer.from(`${row.started_at.toISOString()}__${row.sandbox_id}`).toString("base64url");
}

export function decodeNextToken(token: string): { startedAt: Date; sandboxId: string } | undefined {
  const [at, id] = Buffer.from(token, "base64url").toString("utf8").split("__");
  if (at === undefined || id === undefined || !SANDBOX_ID.test(id)) return undefined;
  const startedAt = parseTime(at);
  return startedAt === undefined ? undefined : { startedAt, sandboxId: id };
}

/**
 * The SDK's `metadata` query (spec 3.4): after the framework's own decoding the value is
 * still escaped once as a whole, then each key and value once more.
 */
export function decodeMetadataQuery(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const whole = safeDecode(value);
  for (const pair of whole.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? "" : pair.slice(eq + 1);
    out[safeDecode(k)] = safeDecode(v);
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
