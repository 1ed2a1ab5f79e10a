import { ENVD_PORT } from "@cove/protocol/envd";
import { SandboxState } from "@cove/protocol/nodeapi";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { ApiError } from "../errors.js";
import { connectEnvd, type EnvdSession } from "./envd.js";
import type { SandboxRow } from "./store.js";

export interface EnvdAccessOptions {
  node: NodeClient;
  /** Node calls about a recorded sandbox (a lost sandbox closes its record and is a 404). */
  nodeCall<T>(row: SandboxRow, call: () => Promise<T>): Promise<T>;
}

/**
 * A session with a sandbox's envd for the native API and metrics, at the address the node
 * routes to (single host: reachable from here). Only running sandboxes answer.
 */
export function createEnvdAccess(options: EnvdAccessOptions): (row: SandboxRow) => Promise<EnvdSession> {
  const { node, nodeCall } = options;
  return async (row) => {
    const res = await nodeCall(row, () => node.resolveRoute({ sandboxId: row.sandbox_id, port: ENVD_PORT }));
    if (res.state !== SandboxState.RUNNING) throw new ApiError("conflict", `sandbox '${row.sandbox_id}' is not running`);
    return connectEnvd(res.address, row.envd_access_token);
  };
}
