import { ENVD_PORT } from "@cove/protocol/envd";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { isNodeNotFound } from "./node-errors.js";
import { routeState, type RouteState } from "./node-state.js";
import type { SandboxStore } from "./store.js";

/** Where the proxy sends a sandbox port's traffic, and what it checks first. */
export interface Route {
  address: string;
  state: RouteState;
  /** Set when the sandbox refuses public traffic on non-envd ports. */
  trafficAccessToken?: string;
}

/** How long the proxy may reuse a route; every state change drops it at once. */
export const ROUTE_TTL_MS = 5000;

export interface RouteCacheOptions {
  store: SandboxStore;
  node: NodeClient;
}

export interface RouteCache {
  /**
   * The store every state change must go through: its `update` and `markKilled` drop the
   * sandbox's routes before and after the write, so no stale route outlives the change.
   */
  store: SandboxStore;
  /** For the proxy: the route plus the sandbox's traffic token; undefined when unknown. */
  route(sandboxId: string, port: number): Promise<Route | undefined>;
  /** A new sandbox's envd route, from the create's answer (the SDK's next request goes there). */
  primeEnvd(sandboxId: string, address: string, trafficAccessToken: string | null): void;
}

/**
 * Per-request lookups (a database read and a node RPC) would halve the proxy's throughput,
 * so running routes are cached for a short while and dropped on every state change.
 */
export function createRouteCache(options: RouteCacheOptions): RouteCache {
  const { node } = options;
  const routes = new Map<string, Map<number, { route: Route; expires: number }>>();
  // Bumped by every invalidation: a lookup that overlapped one is not cached (it may be stale).
  let generation = 0;
  const invalidate = (sandboxId: string) => {
    routes.delete(sandboxId);
    generation++;
  };
  const put = (sandboxId: string, port: number, route: Route) => {
    let ports = routes.get(sandboxId);
    if (ports === undefined) {
      ports = new Map();
      routes.set(sandboxId, ports);
    }
    ports.set(port, { route, expires: Date.now() + ROUTE_TTL_MS });
  };

  const store: SandboxStore = {
    ...options.store,
    async update(sandboxId, fields) {
      invalidate(sandboxId);
      await options.store.update(sandboxId, fields);
      invalidate(sandboxId);
    },
    async markKilled(sandboxId, at) {
      invalidate(sandboxId);
      const changed = await options.store.markKilled(sandboxId, at);
      invalidate(sandboxId);
      return changed;
    },
  };

  async function lookup(sandboxId: string, port: number): Promise<Route | undefined> {
    const row = await store.getActive(sandboxId);
    if (row === undefined) return undefined;
    let res: Awaited<ReturnType<typeof node.resolveRoute>>;
    try {
      res = await node.resolveRoute({ sandboxId, port });
    } catch (err) {
      if (isNodeNotFound(err)) return undefined;
      throw err;
    }
    return { address: res.address, state: routeState(res.state), ...(row.traffic_access_token ? { trafficAccessToken: row.traffic_access_token } : {}) };
  }

  return {
    store,
    async route(sandboxId, port) {
      const cached = routes.get(sandboxId)?.get(port);
      if (cached !== undefined && cached.expires > Date.now()) return cached.route;
      const gen = generation;
      const route = await lookup(sandboxId, port);
      // Only running routes are cached, and only if no state change happened meanwhile.
      if (route?.state === "running" && generation === gen) put(sandboxId, port, route);
      return route;
    },
    primeEnvd(sandboxId, address, trafficAccessToken) {
      put(sandboxId, ENVD_PORT, { address, state: "running", ...(trafficAccessToken ? { trafficAccessToken } : {}) });
    },
  };
}
