/** Stable, machine-readable error codes of the api (native bodies carry them as `error.code`). */
export type ApiErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "invalid_argument"
  | "conflict"
  | "rate_limited"
  | "too_large"
  | "storage_full"
  | "unavailable"
  | "sandbox_create_failed"
  | "not_implemented"
  | "upgrade_required"
  | "internal";

const statusOf: Record<ApiErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  invalid_argument: 400,
  conflict: 409,
  rate_limited: 429,
  too_large: 413,
  storage_full: 507,
  unavailable: 503,
  sandbox_create_failed: 500,
  internal: 500,
  not_implemented: 501,
  upgrade_required: 426,
};

/** Every code, for documents and tests that must list them all. */
export const API_ERROR_CODES = Object.keys(statusOf) as ApiErrorCode[];

/** An error whose message is safe to show to the caller. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly options: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = statusOf[code];
  }
}

export const notFound = (what: string, id: string) => new ApiError("not_found", `${what} '${id}' not found`);
export const invalid = (message: string) => new ApiError("invalid_argument", message);
export const notImplemented = (what: string) => new ApiError("not_implemented", `${what} is not supported by Cove yet`);

/** The E2B body the SDK reads (spec 3.3 `Error`): numeric code = HTTP status. */
export function e2bErrorBody(err: ApiError): { code: number; message: string; error_code: string } {
  return { code: err.status, message: err.message, error_code: err.code };
}

/** The native API's body. */
export function nativeErrorBody(err: ApiError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}
