import type { EnvdInitBody } from "@cove/protocol/envd";
import { safeEqual, UNAUTHORIZED_MESSAGE } from "../auth.js";
import type { EnvdContext } from "../context.js";
import { EnvdError } from "../errors.js";
import { readJsonBody } from "./read-json.js";
import { writeHead, type HttpHandler } from "./respond.js";

/**
 * The fields of POST /init we act on, as parsed from the wire body; others
 * (hyperloopIP, volumeMounts, caBundle, ...) are accepted and ignored.
 */
export interface InitRequest extends Omit<EnvdInitBody, "timestamp"> {
  /** Orchestrator time of this init, ms since epoch (the wire's RFC 3339, parsed). */
  timestamp?: number;
}

/**
 * POST /init (spec 5.6), sent by the node when a sandbox starts or resumes.
 * Allowed while no token is set, or with the current token in X-Access-Token.
 * `accessToken` sets the token and "" clears it (envd open again); `envVars`
 * merge into the sandbox env; `defaultUser`/`defaultWorkdir` replace the
 * defaults ("" clears the workdir). An init whose `timestamp` is older than
 * the last applied one is acknowledged but not applied, so a delayed retry
 * cannot roll settings back. The guest clock is not set: envd shares the host
 * clock in containers and should not need CAP_SYS_TIME.
 */
export const postInit: HttpHandler = async (req, res, ctx) => {
  const current = ctx.state.accessToken;
  if (current !== undefined) {
    const header = req.headers["x-access-token"];
    const given = Array.isArray(header) ? header[0] : header;
    if (given === undefined || !safeEqual(given, current)) throw new EnvdError("unauthenticated", UNAUTHORIZED_MESSAGE);
  }
  const init = parseInitRequest(await readJsonBody(req));
  await applyInit(ctx, init);
  writeHead(res, 204, { "x-envd-version": ctx.config.version, "cache-control": "no-store" });
  res.end();
};

export async function applyInit(ctx: EnvdContext, init: InitRequest): Promise<void> {
  if (init.timestamp !== undefined) {
    if (init.timestamp < ctx.state.lastInitAt) {
      ctx.log.info({ timestamp: init.timestamp, lastInitAt: ctx.state.lastInitAt }, "ignoring stale /init");
      return;
    }
  }
  // Validate everything before changing anything, so a bad init changes nothing.
  if (init.defaultUser !== undefined) {
    const name = init.defaultUser;
    await ctx.users.lookup(name).catch(() => {
      throw new EnvdError("invalid_argument", `invalid defaultUser: '${name}' is not a user of this sandbox`);
    });
  }
  if (init.timestamp !== undefined) ctx.state.lastInitAt = init.timestamp;
  if (init.envVars) Object.assign(ctx.state.envVars, init.envVars);
  if (init.accessToken !== undefined) ctx.state.accessToken = init.accessToken === "" ? undefined : init.accessToken;
  if (init.defaultUser !== undefined) ctx.state.defaultUser = init.defaultUser;
  if (init.defaultWorkdir !== undefined) ctx.state.defaultWorkdir = init.defaultWorkdir === "" ? undefined : init.defaultWorkdir;
}

export function parseInitRequest(body: unknown): InitRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw invalid("the body must be a JSON object");
  const raw = body as Record<string, unknown>;
  const init: InitRequest = {};
  if (raw.envVars !== undefined && raw.envVars !== null) {
    if (typeof raw.envVars !== "object" || Array.isArray(raw.envVars)) throw invalid("envVars must be an object of strings");
    const envVars: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw.envVars)) {
      if (typeof value !== "string") throw invalid(`envVars.${key} must be a string`);
      if (!key || key.includes("=") || key.includes("\0") || value.includes("\0")) throw invalid(`envVars has an invalid entry '${key}'`);
      envVars[key] = value;
    }
    init.envVars = envVars;
  }
  const accessToken = optionalString(raw, "accessToken");
  if (accessToken !== undefined) init.accessToken = accessToken;
  const defaultUser = optionalString(raw, "defaultUser");
  if (defaultUser !== undefined) {
    if (!defaultUser) throw invalid("defaultUser must not be empty");
    init.defaultUser = defaultUser;
  }
  const defaultWorkdir = optionalString(raw, "defaultWorkdir");
  if (defaultWorkdir !== undefined) {
    if (defaultWorkdir && !defaultWorkdir.startsWith("/")) throw invalid("defaultWorkdir must be an absolute path");
    init.defaultWorkdir = defaultWorkdir;
  }
  const timestamp = optionalString(raw, "timestamp");
  if (timestamp !== undefined) {
    const ms = Date.parse(timestamp);
    if (!Number.isFinite(ms)) throw invalid("timestamp must be an RFC 3339 date-time");
    init.timestamp = ms;
  }
  return init;
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(`${key} must be a string`);
  return value;
}

function invalid(message: string): EnvdError {
  return new EnvdError("invalid_argument", `invalid /init body: ${message}`);
}
