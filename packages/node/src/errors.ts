/** The closed set of node error codes; each maps to an HTTP status for the api's edge. */
export type NodeErrorCode = "invalid_transition" | "invalid_argument" | "not_found" | "runtime_failed" | "unavailable";

export const nodeErrorHttpStatus: Record<NodeErrorCode, number> = {
  invalid_transition: 409,
  invalid_argument: 400,
  not_found: 404,
  runtime_failed: 500,
  unavailable: 503,
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
