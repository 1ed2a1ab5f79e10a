import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { requestEncoding } from "./content-encoding.js";
import type { HttpRequest } from "./respond.js";

/** Decoded body chunks are handed on in pieces of this size at most before backpressure. */
const BODY_CHUNK = 1024 * 1024;

export interface RequestBody {
  /** The decoded body. Errors from the socket (client abort) surface here. */
  stream: Readable;
  /**
   * Detaches the request after a failure and drains what the client still
   * sends, so an error response can be delivered instead of a reset.
   */
  release(): void;
}

/**
 * Wraps a request body, decoding Content-Encoding: gzip on the fly. The request
 * itself is never destroyed by a failing consumer (unlike stream.pipeline).
 */
export function openRequestBody(req: HttpRequest): RequestBody {
  const encoding = requestEncoding(headerText(req.headers["content-encoding"]));
  const stream: Readable & NodeJS.WritableStream =
    encoding === "gzip" ? createGunzip({ chunkSize: 64 * 1024 }) : new PassThrough({ highWaterMark: BODY_CHUNK });
  const onAbort = (): void => {
    if (!req.complete) stream.destroy(new RequestAborted());
  };
  // The consumer attaches later (after mkdir and friends); until then an early
  // error (corrupt gzip, abort) must not become an uncaught 'error' event. The
  // stream stays errored, so the consumer's pipeline still sees it.
  stream.on("error", () => undefined);
  req.once("error", onAbort);
  req.once("close", onAbort);
  req.pipe(stream);
  return {
    stream,
    release() {
      req.unpipe(stream);
      req.resume();
    },
  };
}

/** The client went away before sending the whole body. */
export class RequestAborted extends Error {
  override readonly name = "RequestAborted";
  constructor() {
    super("request body aborted by the client");
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
