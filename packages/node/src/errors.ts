import { Code } from "@connectrpc/connect";

/** The closed set of node error codes; each maps to an HTTP status for the api's edge and a Connect code for the node API. */
export type NodeErrorCode =
  | "invalid_transition"
  | "invalid_argument"
  | "not_found"
  | "runtime_failed"
  | "unavailable"
  | "unauthenticated"
  | "resource_exhausted";

export const nodeErrorHttpStatus: Record<NodeErrorCode, number> = {
  invalid_transition: 409,
  invalid_argument: 400,
  not_found: 404,
  runtime_failed: 500,
  unavailable: 503,
  unauthenticated: 401,
  resource_exhausted: 429,
};

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
