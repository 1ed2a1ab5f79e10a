import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { NodeService } from "@cove/protocol/nodeapi";
import type { NodeTemplateBuilder } from "../builds/node-builder.js";
import type { TemplateStore } from "../templates/template-store.js";
import type { MetricSample } from "../metrics/sampler.js";
import type { WarmPoolStats } from "../sandbox/pool.js";
import type { SandboxService } from "../sandbox/types.js";
import { buildTemplateStream, buildToWire, getBuild } from "./build-template.js";
import { toConnectError } from "./connect-error.js";
import { createRequestFromWire, eventToWire, nodeInfoToWire, routeToWire, sandboxToWire, templateToWire } from "./convert.js";
import type { NodeApiLogger, NodeInfo, TemplateSummary } from "./types.js";
import { metricsToWire } from "./metrics.js";
import { warmPoolToWire } from "./warm-pool.js";

export interface NodeApiRoutesOptions {
  /** Where unexpected errors go; their text never reaches the caller. */
  logger?: NodeApiLogger;
  /** The warm pool's state for GetWarmPool; omitted = no pool. */
  warmPool?: () => WarmPoolStats;
  /** Resource samples after a cursor, for ListMetrics; omitted = none. */
  metrics?: (after: bigint) => { samples: MetricSample[]; cursor: bigint };
  /** Template builds for BuildTemplate; omitted = the RPC answers unimplemented. */
  builder?: NodeTemplateBuilder;
  /** DeleteTemplate; omitted = the RPC answers unimplemented. */
  deleteTemplate?: (templateId: string, owner?: string) => Promise<void>;
  /** Tags and visibility (AssignTemplateTags, RemoveTemplateTags, SetTemplatePublic); omitted = unimplemented. */
  templateTags?: Pick<TemplateStore, "assignTags" | "removeTags" | "setPublic">;
}

/** Used when the caller passes no logger; unexpected errors must land somewhere. */
export const consoleLogger: NodeApiLogger = { error: (details, message) => console.error(message, details) };

/**
 * NodeService on a Connect router: each RPC calls the matching SandboxService
 * method and converts both ways. Authentication is not done here; see
 * createBearerAuth (the server installs it as an interceptor).
 */
export function createNodeApiRoutes(
  service: SandboxService,
  info: () => NodeInfo,
  options: NodeApiRoutesOptions = {},
  templates: () => Promise<TemplateSummary[]> = async () => [],
): (router: ConnectRouter) => void {
  const log = options.logger ?? consoleLogger;
  async function guard<T>(rpc: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toConnectError(err, log, rpc);
    }
  }

  const templateBuilder = () => {
    if (!options.builder) throw new ConnectError("this node does not build templates", Code.Unimplemented);
    return options.builder;
  };
  const tagStore = () => {
    if (!options.templateTags) throw new ConnectError("this node does not tag templates", Code.Unimplemented);
    return options.templateTags;
  };

  return (router) => {
    router.service(NodeService, {
      createSandbox: (req) => guard("CreateSandbox", async () => ({ sandbox: sandboxToWire(await service.create(createRequestFromWire(req))) })),
      listSandboxes: () => guard("ListSandboxes", () => ({ sandboxes: service.list().map(sandboxToWire) })),
      getSandbox: (req) => guard("GetSandbox", () => ({ sandbox: sandboxToWire(service.get(req.sandboxId)) })),
      killSandbox: (req) =>
        guard("KillSandbox", async () => {
          await service.kill(req.sandboxId);
          return {};
        }),
      setTimeout: (req) => guard("SetTimeout", async () => ({ sandbox: sandboxToWire(await service.setTimeout(req.sandboxId, req.timeoutMs)) })),
      pauseSandbox: (req) => guard("PauseSandbox", async () => ({ sandbox: sandboxToWire(await service.pause(req.sandboxId)) })),
      resumeSandbox: (req) => guard("ResumeSandbox", async () => ({ sandbox: sandboxToWire(await service.resume(req.sandboxId, req.timeoutMs)) })),
      resolveRoute: (req) => guard("ResolveRoute", () => routeToWire(service.route(req.sandboxId, req.port))),
      getNodeInfo: () => guard("GetNodeInfo", () => nodeInfoToWire(info())),
      listTemplates: () => guard("ListTemplates", async () => ({ templates: (await templates()).map(templateToWire) })),
      getWarmPool: () => guard("GetWarmPool", () => warmPoolToWire(options.warmPool?.())),
      listMetrics: (req) => guard("ListMetrics", () => metricsToWire(options.metrics?.(req.after), req.after)),
      watchEvents: (_req, ctx) => watchEvents(service, ctx, log),
      deleteTemplate: (req) =>
        guard("DeleteTemplate", async () => {
          if (!options.deleteTemplate) throw new ConnectError("this node does not delete templates", Code.Unimplemented);
          await options.deleteTemplate(req.templateId, req.owner);
          return {};
        }),
      assignTemplateTags: (req) =>
        guard("AssignTemplateTags", async () => {
          const buildId = await tagStore().assignTags(req.target, req.tags, req.owner);
          return { buildId, tags: req.tags };
        }),
      removeTemplateTags: (req) =>
        guard("RemoveTemplateTags", async () => {
          await tagStore().removeTags(req.templateId, req.tags, req.owner);
          return {};
        }),
      setTemplatePublic: (req) =>
        guard("SetTemplatePublic", async () => {
          await tagStore().setPublic(req.templateId, req.public, req.owner);
          return {};
        }),
      getTemplateBuild: (req) => guard("GetTemplateBuild", () => getBuild(templateBuilder(), req)),
      listTemplateBuilds: (req) =>
        guard("ListTemplateBuilds", async () => ({
          builds: (
            await templateBuilder().records.list({ ...(req.owner ? { owner: req.owner } : {}), ...(req.templateId ? { template: req.templateId } : {}) })
          ).map(buildToWire),
        })),
      buildTemplate: (req, ctx) => {
        if (!options.builder) throw new ConnectError("this node does not build templates", Code.Unimplemented);
        return buildTemplateStream(options.builder, req, ctx, log);
      },
    });
  };
}

/** Streams events until the caller goes away or the server shuts down (both abort ctx.signal). */
async function* watchEvents(service: SandboxService, ctx: HandlerContext, log: NodeApiLogger) {
  try {
    for await (const event of service.events(ctx.signal)) yield { event: eventToWire(event) };
  } catch (err) {
    // An abort is the normal end of a watch, however the service surfaces it.
    if (ctx.signal.aborted) return;
    throw toConnectError(err, log, "WatchEvents");
  }
}
