import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Logger } from "pino";
import { createActing } from "./acting.js";
import { createAdmission } from "./admission.js";
import { createCreator } from "./create.js";
import { createEnvdAccess } from "./envd-access.js";
import { createLifecycle } from "./lifecycle.js";
import { createNodeEvents } from "./node-events.js";
import { createRecords } from "./records.js";
import { createRouteCache } from "./route-cache.js";
import { findBySignedUrl } from "./signed-url.js";
import type { SandboxStore } from "./store.js";

export interface SandboxServiceOptions {
  store: SandboxStore;
  node: NodeClient;
  logger: Logger;
  /** Concurrent running sandboxes per team unless the team has its own limit. */
  defaultSandboxLimit: number;
  /** Longest lifetime a caller may ask for, in seconds. */
  maxTimeoutSeconds: number;
}

/**
 * What the api does with sandboxes: the node does the work, the store keeps the team's
 * record. Whoever causes a lifecycle change writes its event; the event sync writes the
 * ones the node causes itself (timeouts, errors). This file only wires the parts:
 *
 * - admission.ts: the team's limit of running sandboxes, checked for creates and resumes
 * - create.ts: creates; lifecycle.ts: kill, pause, resume, timeouts, auto-resume
 * - route-cache.ts: the proxy's routes, and the store whose writes drop them
 * - node-events.ts: changes the node reports (timeouts, errors, auto-pauses)
 * - records.ts: reads scoped by team; envd-access.ts, signed-url.ts: reaching a sandbox
 */
export function createSandboxService(options: SandboxServiceOptions) {
  const { node, logger, maxTimeoutSeconds } = options;
  const routes = createRouteCache({ store: options.store, node });
  // Every write below goes through the route cache's store, so every state change drops routes.
  const store = routes.store;
  const records = createRecords(store);
  const acting = createActing();
  const admission = createAdmission({ store, defaultSandboxLimit: options.defaultSandboxLimit });
  const lifecycle = createLifecycle({ store, node, logger, records, acting, admission, maxTimeoutSeconds });
  const nodeEvents = createNodeEvents({ store, logger, acting });

  return {
    create: createCreator({ store, node, logger, admission, routes, maxTimeoutSeconds }),
    kill: lifecycle.kill,
    setTimeout: lifecycle.setTimeout,
    pause: lifecycle.pause,
    resume: lifecycle.resume,
    connect: lifecycle.connect,
    refresh: lifecycle.refresh,
    lost: lifecycle.lost,

    get: records.get,
    list: records.list,
    events: records.events,

    envd: createEnvdAccess({ node, nodeCall: lifecycle.nodeCall }),
    findBySignedUrl: (url: URL, method: string) => findBySignedUrl(store, url, method),

    route: routes.route,
    wake: lifecycle.wake,

    applyNodeState: nodeEvents.applyNodeState,
    recordNodeKill: nodeEvents.recordNodeKill,
    recordNodePause: nodeEvents.recordNodePause,
    recordNodeResume: nodeEvents.recordNodeResume,
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;
