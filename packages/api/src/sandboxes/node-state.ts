import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SandboxState, type Sandbox as NodeSandbox } from "@cove/protocol/nodeapi";

/** The record fields a node's report of a sandbox sets (it is alive: running or paused). */
export function recordFields(s: NodeSandbox): { state: "running" | "paused"; endAt?: Date } {
  return {
    state: s.state === SandboxState.PAUSED ? "paused" : "running",
    ...(s.endAt ? { endAt: timestampDate(s.endAt) } : {}),
  };
}

export type RouteState = "running" | "paused" | "stopped";

/** A route's state as the proxy reads it: everything but running or paused cannot take traffic. */
export function routeState(state: SandboxState): RouteState {
  return state === SandboxState.RUNNING ? "running" : state === SandboxState.PAUSED ? "paused" : "stopped";
}
