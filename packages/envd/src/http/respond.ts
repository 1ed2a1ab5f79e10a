import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { EnvdContext } from "../context.js";
import { EnvdError } from "../errors.js";

export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;

/** A plain HTTP route. Throw EnvdError for client-visible failures. */
export type HttpHandler = (req: HttpRequest, res: HttpResponse, ctx: EnvdContext, url: URL) => Promise<void>;

/**
 * res.writeHead for either kind of response. The two classes declare different
 * writeHead overloads, and TypeScript cannot call a method through a union of
 * overloaded signatures, so each branch calls its own.
 */
export function writeHead(res: HttpResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  if (res instanceof ServerResponse) res.writeHead(status, headers);
  else res.writeHead(status, headers);
}

/** Writes envd's JSON error body: {"code": <http status>, "message": "..."}. */
export function sendError(res: HttpResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ code: status, message });
  writeHead(res, status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJson(res: HttpResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  writeHead(res, status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Renders any error at the edge: EnvdError messages are safe; anything else is logged and hidden. */
export function sendThrown(res: HttpResponse, ctx: EnvdContext, err: unknown): void {
  if (err instanceof EnvdError) {
    if (err.code === "internal") ctx.log.error({ err: err.cause ?? err }, err.message);
    sendError(res, err.httpStatus, err.message);
    return;
  }
  ctx.log.error({ err }, "unhandled error in http route");
  sendError(res, 500, "internal error");
}
