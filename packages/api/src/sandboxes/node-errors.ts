import { Code, ConnectError } from "@connectrpc/connect";
import { ApiError, type ApiErrorCode } from "../errors.js";

const byConnectCode: Partial<Record<Code, ApiErrorCode>> = {
  [Code.NotFound]: "not_found",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.FailedPrecondition]: "conflict",
  [Code.ResourceExhausted]: "rate_limited",
  [Code.Unavailable]: "unavailable",
};

/**
 * A node failure as the caller should see it. The node's messages for refusals (not found, bad
 * argument, conflict, capacity, unavailable) are written to be shown; its internal failures
 * carry host details (command lines, paths) that stay in the logs, as the error's cause.
 */
export function fromNodeError(err: unknown, fallback: ApiErrorCode = "internal"): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ConnectError) {
    const code = byConnectCode[err.code];
    if (code === "rate_limited") return new ApiError(code, err.rawMessage, { retryAfterSeconds: 1, cause: err });
    if (code !== undefined) return new ApiError(code, err.rawMessage, { cause: err });
    return new ApiError(fallback, fallback === "internal" ? "the node failed" : "the node could not start the sandbox", { cause: err });
  }
  return new ApiError(fallback, "the node failed", { cause: err });
}

export function isNodeNotFound(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.NotFound;
}
