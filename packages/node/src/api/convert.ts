// Conversions between the node's own types and nodeapi.v1 messages, both
// directions, in one place. Enum maps are Records so a new state or event type
// without a wire value does not compile.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  TemplateSchema,
  type Template as WireTemplate,
  GetNodeInfoResponseSchema,
  ResolveRouteResponseSchema,
  SandboxEventReason as WireReason,
  SandboxEventSchema,
  SandboxEventType as WireEventType,
  SandboxSchema,
  SandboxState as WireState,
  type CreateSandboxRequest as WireCreateRequest,
  type GetNodeInfoResponse,
  type ResolveRouteResponse,
  type Sandbox,
  type SandboxEvent as WireEvent,
} from "@cove/protocol/nodeapi";
import type { SandboxState } from "../lifecycle/state-table.js";
import type { CreateSandboxRequest, SandboxEvent, SandboxEventReason, SandboxEventType, SandboxInfo, SandboxRoute } from "../sandbox/types.js";
import type { TemplateEntry } from "../templates/template-store.js";
import type { NodeInfo, TemplateSummary } from "./types.js";

const wireState: Record<SandboxState, WireState> = {
  pending: WireState.PENDING,
  starting: WireState.STARTING,
  running: WireState.RUNNING,
  paused: WireState.PAUSED,
  hibernated: WireState.HIBERNATED,
  stopped: WireState.STOPPED,
  error: WireState.ERROR,
};

const wireEventType: Record<SandboxEventType, WireEventType> = {
  created: WireEventType.CREATED,
  paused: WireEventType.PAUSED,
  resumed: WireEventType.RESUMED,
  killed: WireEventType.KILLED,
};

const wireReason: Record<SandboxEventReason, WireReason> = {
  request: WireReason.REQUEST,
  timeout: WireReason.TIMEOUT,
  error: WireReason.ERROR,
};

/** Unset optional wire fields stay undefined, so the service applies its defaults. */
export function createRequestFromWire(req: WireCreateRequest): CreateSandboxRequest {
  return {
    templateId: req.templateId,
    cpuCount: req.cpuCount,
    memoryMB: req.memoryMb,
    timeoutMs: req.timeoutMs,
    envVars: req.envVars,
    metadata: req.metadata,
    allowInternetAccess: req.allowInternetAccess,
    autoPause: req.autoPause,
    envdAccessToken: req.envdAccessToken,
    ...(req.owner !== undefined ? { owner: req.owner } : {}),
  };
}

export function sandboxToWire(info: SandboxInfo): Sandbox {
  return create(SandboxSchema, {
    sandboxId: info.sandboxId,
    templateId: info.templateId,
    state: wireState[info.state],
    cpuCount: info.cpuCount,
    memoryMb: info.memoryMB,
    diskMb: info.diskMB,
    startedAt: timestampFromDate(new Date(info.startedAt)),
    endAt: timestampFromDate(new Date(info.endAt)),
    metadata: info.metadata,
    allowInternetAccess: info.allowInternetAccess,
    autoPause: info.autoPause,
    envdVersion: info.envdVersion,
    envdAddress: info.envdAddress,
    sandboxIp: info.sandboxIp,
  });
}

export function eventToWire(event: SandboxEvent): WireEvent {
  return create(SandboxEventSchema, {
    type: wireEventType[event.type],
    sandboxId: event.sandboxId,
    at: timestampFromDate(new Date(event.at)),
    reason: event.reason === undefined ? WireReason.UNSPECIFIED : wireReason[event.reason],
    message: event.message,
    sandbox: sandboxToWire(event.sandbox),
  });
}

export function routeToWire(route: SandboxRoute): ResolveRouteResponse {
  return create(ResolveRouteResponseSchema, {
    sandboxId: route.sandboxId,
    state: wireState[route.state],
    address: route.address,
  });
}

export function nodeInfoToWire(info: NodeInfo): GetNodeInfoResponse {
  return create(GetNodeInfoResponseSchema, {
    nodeId: info.nodeId,
    version: info.version,
    runtime: info.runtime,
    cgroupMode: info.cgroupMode,
    capacity: {
      cpuCount: info.capacity.cpuCount,
      memoryBytes: BigInt(info.capacity.memoryBytes),
      sandboxCount: info.capacity.sandboxCount,
    },
  });
}

/** One template as ListTemplates reports it: its default tag's build (else its first tag's), and every tag. */
export function templateSummary(e: TemplateEntry): TemplateSummary {
  const main = e.tags[0]?.manifest;
  const d = main?.defaults;
  return {
    templateId: e.name,
    builtAt: new Date(main?.builtAt ?? 0),
    cpuCount: d?.cpuCount ?? 0,
    memoryMB: d?.memoryMB ?? 0,
    diskMB: d?.diskMB ?? 0,
    ...(e.owner ? { owner: e.owner } : {}),
    public: e.public || e.owner === undefined,
    tags: e.tags.map((t) => ({ tag: t.tag, buildId: t.manifest.buildId ?? "", createdAt: new Date(t.manifest.taggedAt ?? t.manifest.builtAt) })),
  };
}

export function templateToWire(t: TemplateSummary): WireTemplate {
  return create(TemplateSchema, {
    templateId: t.templateId,
    builtAt: timestampFromDate(t.builtAt),
    cpuCount: t.cpuCount,
    memoryMb: t.memoryMB,
    diskMb: t.diskMB,
    ...(t.owner ? { owner: t.owner } : {}),
    public: t.public,
    tags: t.tags.map((tag) => ({ tag: tag.tag, buildId: tag.buildId, createdAt: timestampFromDate(tag.createdAt) })),
  });
}
