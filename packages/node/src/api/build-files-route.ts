import type http from "node:http";
import type { NodeTemplateBuilder } from "../builds/node-builder.js";
import { NodeError } from "../errors.js";
import { hasSecret } from "./auth.js";
import type { NodeApiLogger } from "./types.js";

function reply(res: http.ServerResponse, status: number, code?: string, message?: string): void {
  if (code === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code, message }));
}

/**
 * PUT /build-files/<files_hash>: the tar of a COPY step's files, streamed to the node's build
 * file store before BuildTemplate runs (HEAD: 200 when the node has them, 404 when not). Plain
 * HTTP (not an RPC) so a large upload streams.
 */
export async function receiveBuildFiles(
  builder: NodeTemplateBuilder,
  secret: string,
  hash: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  log: NodeApiLogger,
): Promise<void> {
  if (!hasSecret(req.headers.authorization, secret)) return reply(res, 401, "unauthenticated", "missing or wrong node API secret");
  if (req.method === "HEAD") {
    try {
      return reply(res, (await builder.files.has(hash)) ? 200 : 404);
    } catch (err) {
      if (err instanceof NodeError) return reply(res, 400);
      throw err;
    }
  }
  if (req.method !== "PUT") return reply(res, 405, "invalid_argument", "use PUT (or HEAD to ask whether the node has them)");
  try {
    await builder.files.put(hash, req);
    reply(res, 204);
  } catch (err) {
    if (err instanceof NodeError) {
      const status = err.code === "invalid_argument" ? 400 : err.code === "resource_exhausted" ? 413 : 500;
      req.resume();
      return reply(res, status, err.code, err.message);
    }
    if (req.destroyed || req.readableAborted) return;
    log.error({ err }, "storing build files failed");
    reply(res, 500, "internal", "storing the files failed");
  }
}
