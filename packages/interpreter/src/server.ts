import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { InterpreterConfig } from "./config.js";
import { type ContextManager, createContextManager } from "./contexts.js";
import { createEnvdAccess } from "./envd-access.js";
import { InterpreterError } from "./errors.js";
import { handleExecute, parseExecuteBody } from "./execute.js";
import { normalizeLanguage } from "./language.js";
import { type Logger, silentLogger } from "./logger.js";

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ACCESS_TOKEN_HEADER = "x-access-token";

export interface InterpreterServerOptions {
  logger?: Logger;
  /** Overrides the 5 s keepalive period (tests). */
  keepaliveMs?: number;
  interruptGraceMs?: number;
}

export interface InterpreterServer {
  readonly contexts: ContextManager;
  listen(): Promise<AddressInfo>;
  /** Stops accepting requests and kills every kernel. */
  close(): Promise<void>;
}

/** The execution server of spec §7 on node:http. */
export function createInterpreterServer(config: InterpreterConfig, options: InterpreterServerOptions = {}): InterpreterServer {
  const log = options.logger ?? silentLogger;
  const access = createEnvdAccess({ envdUrl: config.envdUrl, accessToken: config.accessToken });
  const contexts = createContextManager({ ...config, log, ...(options.interruptGraceMs !== undefined ? { interruptGraceMs: options.interruptGraceMs } : {}) });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const method = req.method ?? "GET";
    if (path === "/health" && method === "GET") return sendJson(res, 200, "OK");
    if (path === "/execute" && method === "POST") {
      const given = req.headers[ACCESS_TOKEN_HEADER];
      const sandboxEnv = await access.check(typeof given === "string" ? given : undefined);
      const body = parseExecuteBody(await readJson(req));
      // The sandbox's env vars under the execution's own, as E2B's server merges them.
      body.envVars = { ...sandboxEnv, ...body.envVars };
      return handleExecute(req, res, body, { contexts, log, ...(options.keepaliveMs !== undefined ? { keepaliveMs: options.keepaliveMs } : {}) });
    }
    if (path === "/contexts" && method === "POST") {
      const body = (await readJson(req)) as { language?: unknown; cwd?: unknown } | null;
      const language = normalizeLanguage(typeof body?.language === "string" ? body.language : undefined);
      const cwd = typeof body?.cwd === "string" ? body.cwd : undefined;
      return sendJson(res, 200, await contexts.create(language, cwd));
    }
    if (path === "/contexts" && method === "GET") return sendJson(res, 200, contexts.list());
    const restart = /^\/contexts\/([^/]+)\/restart$/.exec(path);
    if (restart && method === "POST") {
      await contexts.restart(decodeURIComponent(restart[1]!));
      return sendJson(res, 200, null);
    }
    const one = /^\/contexts\/([^/]+)$/.exec(path);
    if (one && method === "DELETE") {
      await contexts.remove(decodeURIComponent(one[1]!));
      return sendJson(res, 200, null);
    }
    throw new InterpreterError("not_found", "Not Found");
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const known = err instanceof InterpreterError ? err : undefined;
      if (!known || known.httpStatus >= 500) log.error({ err, method: req.method, url: req.url }, "request failed");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = known?.httpStatus ?? 500;
      const body = known?.message ?? "internal error";
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) }).end(body);
    });
  });

  return {
    contexts,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await contexts.close();
      await closed;
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new InterpreterError("invalid_argument", "request body too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InterpreterError("invalid_argument", "request body is not valid JSON");
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}
