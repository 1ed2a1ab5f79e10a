import { Readable } from "node:stream";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { FastifyInstance } from "fastify";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { parseTemplateRef, TEMPLATE_NAME, TEMPLATE_TAG } from "@cove/protocol/template-ref";
import { ApiError, invalid, notFound } from "../errors.js";
import { fromNodeError } from "../sandboxes/node-errors.js";
import type { BuildRegistry, TemplateBuild } from "../templates/builds.js";
import type { BuildFilesGateway, UploadLinks } from "../templates/upload-links.js";
import { requireTeam } from "./auth.js";
import { body, type Fields, optBool, optInt, optString } from "./input.js";

export interface TemplateRoutesOptions {
  node: NodeClient;
  builds: BuildRegistry;
  files: BuildFilesGateway;
  links: UploadLinks;
}

const FILES_HASH = /^[0-9a-f]{64}$/;
const STEP_TYPES = new Set(["COPY", "ADD", "RUN", "ENV", "ARG", "WORKDIR", "USER"]);
/** The SDK polls with offsets; E2B caps an answer at 100 entries. */
const LOG_PAGE = 100;

/** Whether a team may use a template the node lists: its own, or a public one (base and operators' are). */
export const usableBy =
  (teamId: string) =>
  (t: { public: boolean; owner?: string | undefined }): boolean =>
    t.public || t.owner === teamId;

export function templateName(name: string): string {
  if (!TEMPLATE_NAME.test(name)) throw invalid(`invalid template name '${name}': lowercase letters, digits, '.', '_' and '-', at most 63`);
  return name;
}

/** `name` or `name:tag`, as E2B takes them. */
export function templateRef(ref: string): { name: string; tag: string } {
  const parsed = parseTemplateRef(ref);
  if (parsed) return parsed;
  // Say which part is wrong: the name's own error first, else the tag's.
  templateName(ref.split(":")[0] ?? "");
  throw invalid(`invalid tag in '${ref}': letters, digits, '.', '_' and '-', at most 128`);
}

export function tagList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string" || !TEMPLATE_TAG.test(t))) {
    throw invalid(`${field} must be an array of tags (letters, digits, '.', '_' and '-', at most 128)`);
  }
  return value as string[];
}

function steps(value: unknown) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid("steps must be an array");
  return value.map((raw, i) => {
    const s = body(raw);
    const type = optString(s, "type");
    if (!type || !STEP_TYPES.has(type)) throw invalid(`steps[${i}].type must be one of ${[...STEP_TYPES].join(", ")}`);
    const args = s.args ?? [];
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) throw invalid(`steps[${i}].args must be an array of strings`);
    const filesHash = optString(s, "filesHash");
    if (filesHash !== undefined && !FILES_HASH.test(filesHash)) throw invalid(`steps[${i}].filesHash must be 64 lowercase hex digits`);
    return { type, args: args as string[], force: optBool(s, "force") ?? false, ...(filesHash ? { filesHash } : {}) };
  });
}

function source(b: Fields) {
  const fromImage = optString(b, "fromImage");
  const fromTemplate = optString(b, "fromTemplate");
  if (fromImage && fromTemplate) throw invalid("give fromImage or fromTemplate, not both");
  const registry = b.fromImageRegistry === undefined || b.fromImageRegistry === null ? undefined : body(b.fromImageRegistry);
  if (fromTemplate) {
    if (registry) throw invalid("fromImageRegistry goes with fromImage");
    templateRef(fromTemplate);
    return { fromTemplate };
  }
  // E2B's default when a template names no source.
  const image = fromImage || "e2bdev/base";
  if (!registry) return { fromImage: image };
  const type = optString(registry, "type");
  if (type === "aws") {
    const need = (name: string) => {
      const value = optString(registry, name);
      if (!value) throw invalid(`fromImageRegistry.${name} is required for an AWS registry`);
      return value;
    };
    return {
      fromImage: image,
      awsRegistry: { accessKeyId: need("awsAccessKeyId"), secretAccessKey: need("awsSecretAccessKey"), region: need("awsRegion") },
    };
  }
  if (type === "gcp") {
    const json = optString(registry, "serviceAccountJson");
    if (!json) throw invalid("fromImageRegistry.serviceAccountJson is required for a GCP registry");
    return { fromImage: image, gcpServiceAccountJson: json };
  }
  if (type !== "registry") throw invalid(`fromImageRegistry.type must be registry, aws or gcp, not '${type ?? ""}'`);
  return { fromImage: image, registryUsername: optString(registry, "username") ?? "", registryPassword: optString(registry, "password") ?? "" };
}

async function nodeBuildStatus(node: NodeClient, teamId: string, templateID: string, buildID: string, offset: number) {
  const res = await node.getTemplateBuild({ buildId: buildID, owner: teamId, logsOffset: offset, logsLimit: LOG_PAGE }).catch((err: unknown) => {
    throw fromNodeError(err);
  });
  const b = res.build;
  if (!b || b.templateId !== templateID) throw notFound("template build", `${templateID}/${buildID}`);
  const failure = b.failure;
  return {
    templateID,
    buildID,
    status: b.status,
    logEntries: res.logs.map((l) => ({
      timestamp: (l.timestamp ? timestampDate(l.timestamp) : new Date()).toISOString(),
      level: l.level,
      message: l.message,
      ...(l.step ? { step: l.step } : {}),
    })),
    logs: [],
    ...(failure ? { reason: { message: failure.message, ...(failure.step ? { step: failure.step } : {}) } } : {}),
  };
}

/** E2B's template build flow (spec 3.5): request a build, hand over COPY files, start it, poll it. */
export function registerTemplateRoutes(app: FastifyInstance, options: TemplateRoutesOptions): void {
  const { node, builds, files, links } = options;
  const remove = async (templateID: string, owner: string) => {
    await node.deleteTemplate({ templateId: templateID, owner }).catch((err: unknown) => {
      throw fromNodeError(err);
    });
  };
  // E2B's (the SDK calls it for snapshots too) and the native API's; sandboxes running from it keep running.
  app.delete<{ Params: { templateID: string } }>("/templates/:templateID", async (req, reply) => {
    await remove(req.params.templateID, requireTeam(req).id);
    return reply.code(204).send();
  });
  app.delete<{ Params: { templateID: string } }>("/v1/templates/:templateID", async (req, reply) => {
    await remove(req.params.templateID, requireTeam(req).id);
    return reply.code(204).send();
  });
  const owned = (req: { params: { templateID: string; buildID: string } }, teamId: string): TemplateBuild => {
    const build = builds.get(req.params.templateID, req.params.buildID);
    if (!build || build.teamId !== teamId) throw notFound("template build", `${req.params.templateID}/${req.params.buildID}`);
    return build;
  };
  /** What POST /v3/templates asked for, until the build's start takes it. */
  const requested = new Map<string, { cpuCount?: number; memoryMB?: number; tags: string[] }>();

  app.post("/v3/templates", async (req, reply) => {
    const team = requireTeam(req);
    const b = body(req.body);
    const ref = optString(b, "name") ?? optString(b, "alias") ?? "";
    const { name, tag } = templateRef(ref);
    if (name === "base") throw invalid("base is Cove's own template; give yours another name");
    // The name's own tag and the listed ones; neither: "default" (what the bare name means).
    const tags = [...new Set([...(ref.includes(":") ? [tag] : []), ...tagList(b.tags, "tags")])];
    const build = builds.create(team.id, name);
    const cpuCount = optInt(b, "cpuCount", 1, 64);
    const memoryMB = optInt(b, "memoryMB", 128, 1 << 20);
    requested.set(build.buildID, { ...(cpuCount ? { cpuCount } : {}), ...(memoryMB ? { memoryMB } : {}), tags });
    return reply.code(202).send({ templateID: name, buildID: build.buildID, names: [ref], tags, aliases: [name], public: false });
  });

  app.get<{ Params: { templateID: string; hash: string } }>("/templates/:templateID/files/:hash", async (req, reply) => {
    requireTeam(req);
    const { templateID, hash } = req.params;
    templateName(templateID);
    if (!FILES_HASH.test(hash)) throw invalid("hash must be 64 lowercase hex digits");
    const present = await files.has(hash).catch((err: unknown) => {
      throw new ApiError("unavailable", "the node could not be asked for the files", { cause: err });
    });
    const origin = `${req.protocol}://${req.headers.host ?? "127.0.0.1"}`;
    // The link even when present: the SDK uploads again when a step asks it to (forceUpload).
    return reply.code(201).send({ present, url: `${origin}${links.path(templateID, hash)}` });
  });

  app.put<{ Params: { templateID: string; hash: string }; Querystring: { expires?: string; signature?: string } }>(
    "/build-files/:templateID/:hash",
    async (req, reply) => {
      const { templateID, hash } = req.params;
      if (!FILES_HASH.test(hash) || !links.verify(templateID, hash, req.query.expires, req.query.signature)) {
        throw new ApiError("forbidden", "invalid or expired upload link");
      }
      const payload = req.body instanceof Readable ? req.body : Readable.from(Buffer.from(JSON.stringify(req.body ?? "")));
      await files.put(hash, payload).catch((err: unknown) => {
        if (err instanceof ApiError) throw err;
        throw new ApiError("unavailable", "the node could not store the files", { cause: err });
      });
      return reply.code(200).send();
    },
  );

  app.post<{ Params: { templateID: string; buildID: string } }>("/v2/templates/:templateID/builds/:buildID", async (req, reply) => {
    const team = requireTeam(req);
    const build = owned(req, team.id);
    if (build.status !== "waiting") throw new ApiError("conflict", `build ${build.buildID} was already started`);
    const b = body(req.body);
    const startCmd = optString(b, "startCmd");
    const readyCmd = optString(b, "readyCmd");
    const asked = requested.get(build.buildID) ?? { tags: [] };
    const request = {
      name: build.templateID,
      owner: team.id,
      buildId: build.buildID,
      tags: asked.tags,
      ...source(b),
      steps: steps(b.steps),
      force: optBool(b, "force") ?? false,
      ...(startCmd ? { startCmd } : {}),
      ...(readyCmd ? { readyCmd } : {}),
      ...(asked.cpuCount ? { cpuCount: asked.cpuCount } : {}),
      ...(asked.memoryMB ? { memoryMb: asked.memoryMB } : {}),
    };
    requested.delete(build.buildID);
    builds.start(build, request);
    return reply.code(202).send();
  });

  app.get<{ Params: { templateID: string; buildID: string }; Querystring: { logsOffset?: string } }>(
    "/templates/:templateID/builds/:buildID/status",
    async (req) => {
      const team = requireTeam(req);
      const offset = req.query.logsOffset === undefined ? 0 : Number(req.query.logsOffset);
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalid("logsOffset must be a non-negative integer");
      const local = builds.get(req.params.templateID, req.params.buildID);
      // Started by an earlier api process (or this one forgot it): the node's record.
      if (!local) return nodeBuildStatus(node, team.id, req.params.templateID, req.params.buildID, offset);
      const build = owned(req, team.id);
      return {
        templateID: build.templateID,
        buildID: build.buildID,
        status: build.status,
        logEntries: build.logs.slice(offset, offset + LOG_PAGE),
        logs: [],
        ...(build.reason ? { reason: build.reason } : {}),
      };
    },
  );
}
