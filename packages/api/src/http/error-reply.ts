import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, e2bErrorBody, nativeErrorBody } from "../errors.js";
import { printable } from "./validate.js";

// Connection-level failures (refused, reset, server shutting down or gone): the request was fine.
const DATABASE_DOWN = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08003", "08006"]);

function isDatabaseDown(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === "string" && DATABASE_DOWN.has(e.code)) return true;
    // pg reports a refused connection to a host with several addresses as an AggregateError.
    if (Array.isArray(e.errors) && e.errors.some(isDatabaseDown)) return true;
  }
  return false;
}

/**
 * Fastify's own request errors (body parsing, content types, URLs) by code, with messages of
 * ours: the framework's texts name its internals and may echo the request.
 */
const FRAMEWORK_ERRORS: Record<string, () => ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError("too_large", "the request body is over the limit of 1 MiB"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new ApiError("invalid_argument", "unsupported content type: send JSON with content-type: application/json"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new ApiError("invalid_argument", "content-length does not match the body"),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new ApiError("invalid_argument", "the body is empty but content-type says JSON: send {} or no content-type"),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new ApiError("invalid_argument", "the body is not valid JSON"),
  FST_ERR_BAD_URL: () => new ApiError("invalid_argument", "the URL has an invalid percent-encoding"),
  // A parameter longer than any id of ours names nothing.
  FST_ERR_MAX_PARAM_LENGTH: () => new ApiError("not_found", "not found (malformed id)"),
};

/** Any error a request ended with, as the caller may see it; the cause goes to the log only. */
export function toApiError(err: FastifyError | ApiError | Error, req: FastifyRequest): ApiError {
  if (err instanceof ApiError) {
    if (err.status >= 500) req.log.warn({ err, url: req.url }, "request failed");
    return err;
  }
  if (isDatabaseDown(err)) {
    req.log.error({ err, url: req.url }, "database unavailable");
    return new ApiError("unavailable", "the database is unavailable; retry shortly", { retryAfterSeconds: 1 });
  }
  const code = (err as FastifyError).code;
  const known = typeof code === "string" ? FRAMEWORK_ERRORS[code] : undefined;
  if (known !== undefined) return known();
  const status = (err as FastifyError).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    // Another 4xx the framework raised (e.g. prototype poisoning in JSON): the request was at fault.
    req.log.info({ err, url: req.url }, "request refused");
    return new ApiError(status === 413 ? "too_large" : "invalid_argument", status === 413 ? "the request is too large" : "the request is malformed");
  }
  req.log.error({ err, url: req.url }, "request failed");
  return new ApiError("internal", "internal error");
}

/** Sends an error in the body shape of the API the path belongs to (native under /v1, E2B's elsewhere). */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.options.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.options.retryAfterSeconds));
  const native = req.url.startsWith("/v1/");
  return reply.code(err.status).send(native ? nativeErrorBody(err) : e2bErrorBody(err));
}

/** 404 for a path that is no route; the path is echoed short and printable. */
export function noRoute(req: FastifyRequest): ApiError {
  return new ApiError("not_found", `no route ${printable(req.method, 16)} ${printable(req.url.split("?")[0] ?? "", 120)}`);
}
