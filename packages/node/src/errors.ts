import { Code } from "@connectrpc/connect";

/** The closed set of node error codes; each maps to a Connect code for the node API. */
export type NodeErrorCode =
  | "invalid_transition"
  | "invalid_argument"
  | "not_found"
  | "runtime_failed"
  | "unavailable"
  | "unauthenticated"
  | "resource_exhausted";

/** How the node API reports each code. The node code itself also travels in the `cove-error-code` header. */
export const nodeErrorConnectCode: Record<NodeErrorCode, Code> = {
  invalid_transition: Code.FailedPrecondition,
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  runtime_failed: Code.Internal,
  unavailable: Code.Unavailable,
  unauthenticated: Code.Unauthenticated,
  resource_exhausted: Code.ResourceExhausted,
};

/** An error whose message is safe to show to the caller. */
export class NodeError extends Error {
  override readonly name = "NodeError";
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
