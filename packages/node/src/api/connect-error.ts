import { Code, ConnectError } from "@connectrpc/connect";
import { NodeError, nodeErrorConnectCode } from "../errors.js";
import type { NodeApiLogger } from "./types.js";

/** Response header (trailer, on streams) naming the NodeErrorCode, so callers can tell codes that share a Connect code apart. */
export const NODE_ERROR_CODE_HEADER = "cove-error-code";

/**
 * Renders a thrown value for the wire, once, at the edge. NodeError messages
 * are safe to show; anything else is logged and reported as a bare `internal`.
 */
export function toConnectError(err: unknown, log: NodeApiLogger, rpc: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof NodeError) {
    return new ConnectError(err.message, nodeErrorConnectCode[err.code], { [NODE_ERROR_CODE_HEADER]: err.code });
  }
  log.error({ err, rpc }, "node api: unexpected error");
  return new ConnectError("internal error", Code.Internal);
}
