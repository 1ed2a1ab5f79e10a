import type { IncomingMessage, ServerResponse } from "node:http";
import type { ContextManager } from "./contexts.js";
import { InterpreterError } from "./errors.js";
import type { ExecuteRequest, ExecutionSink } from "./kernels/protocol.js";
import { normalizeLanguage } from "./language.js";
import type { Logger } from "./logger.js";
import { encodeLine, type OutputLine, resultLine } from "./output.js";

/** The server sends a keepalive line this often, so a silent execution still writes (and notices a gone caller). */
export const KEEPALIVE_MS = 5000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ExecuteBody {
  code: string;
  contextId: string | undefined;
  language: string | undefined;
  envVars: Record<string, string>;
}

/** Validates the JSON body of POST /execute (spec §7). */
export function parseExecuteBody(body: unknown): ExecuteBody {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InterpreterError("invalid_argument", "request body must be a JSON object");
  const { code, context_id: contextId, language, env_vars: envVars } = body as Record<string, unknown>;
  if (typeof code !== "string") throw new InterpreterError("invalid_argument", "'code' must be a string");
  if (contextId !== undefined && contextId !== null && typeof contextId !== "string")
    throw new InterpreterError("invalid_argument", "'context_id' must be a string");
  if (language !== undefined && language !== null && typeof language !== "string")
    throw new InterpreterError("invalid_argument", "'language' must be a string");
  if (contextId && language) throw new InterpreterError("invalid_argument", "Only one of context_id or language can be provided");
  const env: Record<string, string> = {};
  if (envVars !== undefined && envVars !== null) {
    if (typeof envVars !== "object" || Array.isArray(envVars)) throw new InterpreterError("invalid_argument", "'env_vars' must be an object");
    for (const [name, value] of Object.entries(envVars)) {
      if (!ENV_NAME.test(name)) throw new InterpreterError("invalid_argument", `invalid environment variable name '${name}'`);
      env[name] = String(value);
    }
  }
  return { code, contextId: contextId || undefined, language: language || undefined, envVars: env };
}

export interface ExecuteHandlerOptions {
  contexts: ContextManager;
  log: Logger;
  keepaliveMs?: number;
}

/**
 * Streams one execution as NDJSON: number_of_executions, then stdout, stderr,
 * result and error lines as they come, keepalives while waiting, and
 * end_of_execution last. A caller that disconnects interrupts the kernel.
 */
export async function handleExecute(req: IncomingMessage, res: ServerResponse, body: ExecuteBody, options: ExecuteHandlerOptions): Promise<void> {
  const { contexts, log } = options;
  const contextId = body.contextId ?? (await contexts.defaultFor(normalizeLanguage(body.language))).id;
  contexts.get(contextId);
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableEnded) abort.abort();
  };
  res.on("close", onClose);
  req.socket.setNoDelay(true);
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
  const write = (line: OutputLine) => {
    if (!abort.signal.aborted && !res.writableEnded) res.write(encodeLine(line));
  };
  const keepalive = setInterval(() => write({ type: "keepalive" }), options.keepaliveMs ?? KEEPALIVE_MS);
  const timestamp = () => new Date().toISOString();
  const sink: ExecutionSink = {
    started: (count) => write({ type: "number_of_executions", execution_count: count }),
    stdout: (text) => write({ type: "stdout", text, timestamp: timestamp() }),
    stderr: (text) => write({ type: "stderr", text, timestamp: timestamp() }),
    result: (data, isMain) => write(resultLine(data, isMain)),
    error: (name, value, traceback) => write({ type: "error", name, value, traceback }),
  };
  const request: ExecuteRequest = { code: body.code, env: body.envVars };
  try {
    await contexts.execute(contextId, request, sink, abort.signal);
  } catch (err) {
    log.error({ err, context: contextId }, "execution failed");
    const message = err instanceof InterpreterError ? err.message : "internal error";
    write({ type: "error", name: "ExecutionError", value: message, traceback: "" });
  } finally {
    clearInterval(keepalive);
    res.off("close", onClose);
    write({ type: "end_of_execution" });
    res.end();
  }
}
