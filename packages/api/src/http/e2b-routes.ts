import type { FastifyInstance } from "fastify";
import { ENVD_VERSION } from "@cove/protocol/envd";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ApiError, invalid, notImplemented } from "../errors.js";
import type { SandboxService } from "../sandboxes/service.js";
import type { ListQuery, SandboxRow } from "../sandboxes/store.js";
import { requireTeam } from "./auth.js";
import { decodeMetadataQuery, decodeNextToken, detailBody, encodeNextToken, listedBody, sandboxBody } from "./e2b-shapes.js";
import { body, optBool, optInt, optString, optStringMap, type Fields } from "./input.js";
import { checkEnvVars, checkMetadata, checkTemplateFilter, checkTemplateRef, parseTime, printable } from "./validate.js";
import { usableBy } from "./template-routes.js";

export interface E2bRoutesOptions {
  service: SandboxService;
  node: NodeClient;
  /** Sandbox domain returned to the SDK; null with a single gateway URL. */
  domain: string | null;
}

type Params = { sandboxID: string };

const DEFAULT_TIMEOUT_V2 = 300;
const DEFAULT_TIMEOUT_V1 = 15;

/** E2B's REST API as the official SDKs call it (spec 3). Errors are `{code, message}` (see app.ts). */
export function registerE2bRoutes(app: FastifyInstance, options: E2bRoutesOptions): void {
  const { service, node, domain } = options;

  function createParams(b: Fields, v2: boolean) {
    const templateId = optString(b, "templateID") ?? "base";
    if (templateId === "") throw invalid("templateID must not be empty");
    checkTemplateRef(templateId);
    const network = b.network === undefined || b.network === null ? {} : body(b.network);
    refuseUnsupported(b, network);
    const autoResume = b.autoResume === undefined || b.autoResume === null ? undefined : optBool(body(b.autoResume), "enabled");
    return {
      templateId,
      timeoutSeconds: optInt(b, "timeout") ?? (v2 ? DEFAULT_TIMEOUT_V2 : DEFAULT_TIMEOUT_V1),
      metadata: checkMetadata(optStringMap(b, "metadata") ?? {}, "metadata"),
      envVars: checkEnvVars(optStringMap(b, "envVars") ?? {}, "envVars"),
      allowInternetAccess: optBool(b, "allow_internet_access") ?? true,
      autoPause: optBool(b, "autoPause") ?? false,
      autoResume: autoResume ?? false,
      secure: v2 ? true : (optBool(b, "secure") ?? false),
      allowPublicTraffic: optBool(network, "allowPublicTraffic") ?? true,
    };
  }

  for (const [path, v2] of [
    ["/v2/sandboxes", true],
    ["/sandboxes", false],
  ] as const) {
    app.post(path, async (req, reply) => {
      const params = createParams(body(req.body), v2);
      const row = await service.create(requireTeam(req), params).catch((err: unknown) => {
        throw explainMissingMcpTemplate(err, params.templateId);
      });
      return reply.code(201).send(sandboxBody(row, domain));
    });
  }

  function listQuery(q: Fields, v2: boolean): ListQuery {
    const stateParam = q.state;
    const raw = Array.isArray(stateParam) ? stateParam.join(",") : typeof stateParam === "string" ? stateParam : "";
    const states = raw === "" ? (v2 ? ["running", "paused"] : ["running"]) : raw.split(",").map((s) => s.trim());
    for (const s of states) if (s !== "running" && s !== "paused") throw invalid(`unknown state '${printable(s)}' (running or paused)`);
    const order = optString(q, "order") ?? "desc";
    if (order !== "asc" && order !== "desc") throw invalid("order must be asc or desc");
    const limit = optInt(q, "limit", 1, 100) ?? 100;
    const startedAfterText = optString(q, "startedAfter");
    const startedAfter = startedAfterText === undefined ? undefined : parseTime(startedAfterText);
    if (startedAfterText !== undefined && startedAfter === undefined) throw invalid("startedAfter must be an RFC 3339 time");
    const tokenText = optString(q, "nextToken");
    const after = tokenText === undefined || tokenText === "" ? undefined : decodeNextToken(tokenText);
    if (tokenText && after === undefined) throw invalid("nextToken is not one this api issued");
    const metadataText = optString(q, "metadata");
    const template = optString(q, "template");
    if (template) checkTemplateFilter(template, "template");
    return {
      states: states as ("running" | "paused")[],
      order,
      limit,
      ...(metadataText ? { metadata: checkMetadata(decodeMetadataQuery(metadataText), "metadata") } : {}),
      ...(startedAfter ? { startedAfter } : {}),
      ...(template ? { template } : {}),
      ...(after ? { after } : {}),
    };
  }

  app.get("/v2/sandboxes", async (req, reply) => {
    const page = await service.list(requireTeam(req), listQuery(body(req.query), true));
    const last = page.rows.at(-1);
    if (page.more && last !== undefined) reply.header("x-next-token", encodeNextToken(last));
    reply.header("x-total-running", String(page.totalRunning));
    return page.rows.map(listedBody);
  });

  app.get("/sandboxes", async (req) => {
    const q = listQuery({ ...body(req.query), limit: 100 }, false);
    const out: SandboxRow[] = [];
    // The deprecated list has no pagination: walk every page.
    for (let after = q.after; ; ) {
      const page = await service.list(requireTeam(req), { ...q, ...(after ? { after } : {}) });
      out.push(...page.rows);
      const last = page.rows.at(-1);
      if (!page.more || last === undefined) break;
      after = { startedAt: last.started_at, sandboxId: last.sandbox_id };
    }
    return out.map(listedBody);
  });

  app.get<{ Params: Params }>("/sandboxes/:sandboxID", async (req) => detailBody(await service.get(requireTeam(req), req.params.sandboxID), domain));

  app.delete<{ Params: Params }>("/sandboxes/:sandboxID", async (req, reply) => {
    await service.kill(requireTeam(req), req.params.sandboxID);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/sandboxes/:sandboxID/timeout", async (req, reply) => {
    const timeout = optInt(body(req.body), "timeout");
    if (timeout === undefined) throw invalid("timeout is required (seconds)");
    await service.setTimeout(requireTeam(req), req.params.sandboxID, timeout);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/sandboxes/:sandboxID/refreshes", async (req, reply) => {
    await service.refresh(requireTeam(req), req.params.sandboxID, optInt(body(req.body), "duration") ?? DEFAULT_TIMEOUT_V1);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/sandboxes/:sandboxID/pause", async (req, reply) => {
    if (body(req.body).memory === false) throw notImplemented("memory: false (a filesystem-only pause)");
    await service.pause(requireTeam(req), req.params.sandboxID);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/sandboxes/:sandboxID/resume", async (req, reply) => {
    const b = body(req.body);
    const row = await service.resume(requireTeam(req), req.params.sandboxID, optInt(b, "timeout"));
    return reply.code(201).send(sandboxBody(row, domain));
  });

  for (const [path, v2] of [
    ["/v2/sandboxes/:sandboxID/connect", true],
    ["/sandboxes/:sandboxID/connect", false],
  ] as const) {
    app.post<{ Params: Params }>(path, async (req, reply) => {
      const b = body(req.body);
      const timeout = optInt(b, "timeout") ?? (v2 ? DEFAULT_TIMEOUT_V2 : undefined);
      if (timeout === undefined) throw invalid("timeout is required (seconds)");
      const { row, resumed } = await service.connect(requireTeam(req), req.params.sandboxID, timeout);
      return reply.code(resumed ? 201 : 200).send(sandboxBody(row, domain));
    });
  }

  app.get<{ Params: Params }>("/sandboxes/:sandboxID/logs", async (req) => {
    const events = await service.events(requireTeam(req), req.params.sandboxID);
    const lines = events.map((e) => ({ timestamp: e.at.toISOString(), message: eventLine(e) }));
    return {
      logs: lines.map((l) => ({ timestamp: l.timestamp, line: l.message })),
      logEntries: lines.map((l) => ({ timestamp: l.timestamp, level: "info", message: l.message, fields: {} })),
    };
  });

  app.get<{ Params: Params }>("/v2/sandboxes/:sandboxID/logs", async (req) => {
    const events = await service.events(requireTeam(req), req.params.sandboxID);
    return { logs: events.map((e) => ({ timestamp: e.at.toISOString(), level: "info", message: eventLine(e), fields: {} })) };
  });

  /** The templates a team may use: its own, and public ones (base and an operator's included). */
  async function templates(teamId: string) {
    const { templates } = await node.listTemplates({});
    return templates.filter(usableBy(teamId)).map((t) => {
      const at = t.builtAt ? timestampDate(t.builtAt).toISOString() : new Date(0).toISOString();
      const main = t.tags.find((x) => x.tag === "default") ?? t.tags[0];
      return {
        templateID: t.templateId,
        buildID: main?.buildId || `${t.templateId}-${at.replace(/\D/g, "")}`,
        cpuCount: t.cpuCount,
        memoryMB: t.memoryMb,
        diskSizeMB: t.diskMb,
        public: t.public,
        aliases: [t.templateId],
        names: [t.templateId],
        createdAt: at,
        updatedAt: at,
        createdBy: null,
        lastSpawnedAt: null,
        spawnCount: 0,
        buildCount: 1,
        envdVersion: ENVD_VERSION,
        buildStatus: "ready",
      };
    });
  }

  app.get("/templates", async (req) => templates(requireTeam(req).id));
  app.get("/v2/templates", async (req) => templates(requireTeam(req).id));

  async function findTemplate(teamId: string, id: string) {
    const t = (await templates(teamId)).find((x) => x.templateID === id);
    if (t === undefined) throw new ApiError("not_found", `template '${id}' not found`);
    return t;
  }

  app.get<{ Params: { templateID: string } }>("/templates/:templateID", async (req) => {
    const t = await findTemplate(requireTeam(req).id, req.params.templateID);
    return {
      ...t,
      builds: [
        {
          buildID: t.buildID,
          status: "ready",
          createdAt: t.createdAt,
          updatedAt: t.updatedAt,
          cpuCount: t.cpuCount,
          memoryMB: t.memoryMB,
          diskSizeMB: t.diskSizeMB,
          envdVersion: t.envdVersion,
        },
      ],
    };
  });

  app.get<{ Params: { alias: string } }>("/templates/aliases/:alias", async (req) => {
    const team = requireTeam(req);
    const { templates: all } = await node.listTemplates({});
    const t = all.find((x) => x.templateId === req.params.alias);
    if (t === undefined) throw new ApiError("not_found", `template '${req.params.alias}' not found`);
    // E2B's answer for a name another team holds privately: it exists, and is not yours.
    if (!usableBy(team.id)(t)) throw new ApiError("forbidden", `template '${req.params.alias}' belongs to another team`);
    return { templateID: t.templateId, public: t.public };
  });

  for (const [method, url, what] of UNSUPPORTED_ROUTES) {
    app.route({
      method: method as "GET",
      url,
      handler: async (req) => {
        requireTeam(req);
        throw notImplemented(what);
      },
    });
  }

  app.get("/teams", async (req) => {
    const team = requireTeam(req);
    return [{ teamID: team.id, name: team.name, isDefault: true }];
  });
}

// Parts of E2B's API Cove does not have yet: a clear 501 instead of a 404 that reads like a bug.
export const UNSUPPORTED_ROUTES: readonly [method: string, url: string, what: string][] = [
  ["PUT", "/sandboxes/:sandboxID/network", "changing a sandbox's network rules"],
  ["POST", "/sandboxes/:sandboxID/fork", "forking a sandbox"],
  ["POST", "/sandboxes/:sandboxID/snapshots", "snapshots"],
  ["GET", "/snapshots", "snapshots"],
  ["GET", "/volumes", "volumes"],
  ["POST", "/volumes", "volumes"],
  ["GET", "/secrets", "secrets"],
  ["POST", "/secrets", "secrets"],
];

const nonEmpty = (v: unknown) => v !== undefined && v !== null && (Array.isArray(v) ? v.length > 0 : typeof v === "object" ? Object.keys(v).length > 0 : true);

/**
 * Options Cove cannot honour yet are refused, never ignored: a caller relying on an egress
 * deny list or a volume must not get a sandbox without it.
 */
function refuseUnsupported(b: Fields, network: Fields): void {
  for (const key of ["allowOut", "denyOut", "rules", "egressProxy", "maskRequestHost", "httpsPorts"]) {
    if (nonEmpty(network[key])) throw notImplemented(`network.${key}`);
  }
  for (const key of ["volumeMounts", "iam"]) {
    if (nonEmpty(b[key])) throw notImplemented(key);
  }
  // `mcp` is accepted and not kept: the SDK itself starts `mcp-gateway --config …` in the new
  // sandbox (and kills it when that fails), as with E2B. The server only checks its shape.
  if (b.mcp !== undefined && b.mcp !== null && (typeof b.mcp !== "object" || Array.isArray(b.mcp))) throw invalid("mcp must be an object");
  // A pause without memory (E2B's filesystem-only snapshot, a cold boot on resume)
  // is not one Cove can take yet; its pauses always keep memory.
  if (b.autoPauseMemory === false) throw notImplemented("autoPauseMemory: false (a filesystem-only pause)");
}

/** The template the SDK picks when `mcp` is given without one. */
const MCP_TEMPLATE = "mcp-gateway";

/** Cove ships no MCP gateway template: say so, and what to do, instead of a bare not-found. */
function explainMissingMcpTemplate(err: unknown, templateId: string): unknown {
  if (templateId !== MCP_TEMPLATE || !(err instanceof ApiError) || err.code !== "not_found") return err;
  return new ApiError(
    "not_found",
    `template '${MCP_TEMPLATE}' not found: the SDK picks it when mcp is given without a template, and Cove ships none; build a template named ${MCP_TEMPLATE} that has the mcp-gateway binary (cove template build), or name a template that has it`,
    { cause: err },
  );
}

function eventLine(e: { type: string; reason: string | null; message: string | null }): string {
  return [`sandbox ${e.type}`, e.reason ? `(${e.reason})` : "", e.message ?? ""].filter((s) => s !== "").join(" ");
}
