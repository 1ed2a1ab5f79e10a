import { randomBytes } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Sandbox as NodeSandbox } from "@cove/protocol/nodeapi";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { ENVD_VERSION } from "@cove/protocol/envd";
import type { Logger } from "pino";
import type { Team } from "../auth/keys.js";
import { ApiError } from "../errors.js";
import type { Admission } from "./admission.js";
import { checkTimeout } from "./limits.js";
import { fromNodeError } from "./node-errors.js";
import type { RouteCache } from "./route-cache.js";
import type { SandboxRow, SandboxStore } from "./store.js";

export interface CreateParams {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  allowInternetAccess: boolean;
  autoPause: boolean;
  autoResume: boolean;
  /** Issue an envd access token (v2 creates always do). */
  secure: boolean;
  /** false: the proxy requires a traffic access token on non-envd ports. */
  allowPublicTraffic: boolean;
}

export interface CreatorOptions {
  store: SandboxStore;
  node: NodeClient;
  logger: Logger;
  admission: Admission;
  routes: RouteCache;
  maxTimeoutSeconds: number;
}

/** Creates: admission, the node's create, then the record (with its `created` event). */
export function createCreator(options: CreatorOptions): (team: Team, p: CreateParams) => Promise<SandboxRow> {
  const { store, node, logger, admission, routes } = options;

  async function nodeCreate(teamId: string, p: CreateParams, envdAccessToken: string | undefined): Promise<NodeSandbox> {
    try {
      const res = await node.createSandbox({
        templateId: p.templateId,
        // Another team's private template is not found.
        owner: teamId,
        timeoutMs: p.timeoutSeconds * 1000,
        envVars: p.envVars,
        metadata: p.metadata,
        allowInternetAccess: p.allowInternetAccess,
        autoPause: p.autoPause,
        ...(envdAccessToken !== undefined ? { envdAccessToken } : {}),
      });
      if (res.sandbox === undefined) throw new Error("node returned no sandbox");
      return res.sandbox;
    } catch (err) {
      throw fromNodeError(err, "sandbox_create_failed");
    }
  }

  return async function create(team, p) {
    const started = performance.now();
    checkTimeout(p.timeoutSeconds, options.maxTimeoutSeconds);
    await admission.admit(team);
    try {
      const envdAccessToken = p.secure ? randomBytes(24).toString("hex") : undefined;
      const trafficAccessToken = p.allowPublicTraffic ? null : randomBytes(24).toString("hex");
      const created = await nodeCreate(team.id, p, envdAccessToken);
      const row: SandboxRow = {
        sandbox_id: created.sandboxId,
        team_id: team.id,
        template_id: created.templateId || p.templateId,
        metadata: p.metadata,
        envd_access_token: envdAccessToken ?? null,
        started_at: created.startedAt ? timestampDate(created.startedAt) : new Date(),
        end_at: created.endAt ? timestampDate(created.endAt) : new Date(Date.now() + p.timeoutSeconds * 1000),
        state: "running",
        cpu_count: created.cpuCount,
        memory_mb: created.memoryMb,
        disk_mb: created.diskMb,
        created_at: new Date(),
        killed_at: null,
        envd_version: created.envdVersion || ENVD_VERSION,
        auto_pause: p.autoPause,
        auto_resume: p.autoResume,
        allow_internet_access: p.allowInternetAccess,
        traffic_access_token: trafficAccessToken,
      };
      try {
        const { created_at: _c, killed_at: _k, ...insert } = row;
        await store.insert(insert);
        if (created.envdAddress) routes.primeEnvd(row.sandbox_id, created.envdAddress, trafficAccessToken);
      } catch (err) {
        // No record means nobody could ever reach or kill it: do not leave it running.
        logger.error({ err, sandboxId: row.sandbox_id }, "recording a new sandbox failed; killing it");
        await node.killSandbox({ sandboxId: row.sandbox_id }).catch(() => undefined);
        throw new ApiError("internal", "the sandbox could not be recorded", { cause: err });
      }
      logger.info({ sandboxId: row.sandbox_id, teamId: team.id, templateId: row.template_id, ms: Math.round(performance.now() - started) }, "sandbox created");
      return row;
    } finally {
      admission.release(team);
    }
  };
}
