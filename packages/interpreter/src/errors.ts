/** The closed set of the execution server's error codes. */
export type InterpreterErrorCode = "invalid_argument" | "unauthenticated" | "not_found" | "kernel_failed" | "unavailable" | "internal";

const httpStatuses: Record<InterpreterErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  not_found: 404,
  kernel_failed: 500,
  unavailable: 502,
  internal: 500,
};

/**
 * An error whose message is safe to show to the caller. The server answers
 * with the message as text/plain, as E2B's execution server does (the SDK
 * puts a 404 body into NotFoundError).
 */
export class InterpreterError extends Error {
  override readonly name = "InterpreterError";
  constructor(
    readonly code: InterpreterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return httpStatuses[this.code];
  }
}
