import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import type { Database } from "../db/schema.js";
import { ApiError, nativeErrorBody } from "../errors.js";
import type { EnvdSession } from "../sandboxes/envd.js";
import type { SandboxService } from "../sandboxes/service.js";
import { resolveTeam } from "./auth.js";
import { envdExecError } from "./native-routes.js";
import { checkCommand, checkParams, checkPath, checkQuery, checkUser, MAX_INTEGER_FIELD } from "./validate.js";

const EXEC_PATH = /^\/v1\/sandboxes\/([^/]+)\/exec$/;

export interface ExecSocketOptions {
  db: Kysely<Database>;
  service: SandboxService;
  logger: Logger;
}

/**
 * Streaming exec over WebSocket at GET /v1/sandboxes/{id}/exec?cmd=…[&cwd&user&timeout].
 * Server → client: {"type":"start","pid"}, {"type":"stdout"|"stderr","data":<base64>},
 * {"type":"exit","exitCode","error"?}, {"type":"error","error":{code,message}}.
 * Client → server: {"type":"stdin","data":<base64>}, {"type":"close_stdin"},
 * {"type":"signal","signal":"SIGTERM"|"SIGKILL"}.
 */
export function createExecSocket(options: ExecSocketOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });

  function refuse(socket: Duplex, err: ApiError): void {
    const text = JSON.stringify(nativeErrorBody(err));
    socket.end(
      `HTTP/1.1 ${err.status} ${err.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }

  interface Prepared {
    envd: EnvdSession;
    cmd: string;
    timeout: number;
    cwd: string | null;
    user: string | null;
  }

  /** Everything that can fail before the upgrade does so as a plain HTTP answer the client can read. */
  async function prepare(sandboxId: string, params: URLSearchParams, headers: IncomingMessage["headers"]): Promise<Prepared> {
    const team = await resolveTeam(options.db, headers);
    // The same edge checks as the HTTP routes (app.ts), in the same order: key, id, query.
    checkParams({ sandboxID: sandboxId });
    checkQuery(Object.fromEntries(params));
    const cmd = params.get("cmd");
    if (!cmd) throw new ApiError("invalid_argument", "cmd is required");
    checkCommand(cmd, "cmd");
    const timeoutText = params.get("timeout") ?? "0";
    const timeout = /^\d{1,16}$/.test(timeoutText) ? Number(timeoutText) : NaN;
    if (!(timeout <= MAX_INTEGER_FIELD)) throw new ApiError("invalid_argument", `timeout must be whole seconds from 0 to ${MAX_INTEGER_FIELD}`);
    const cwd = params.get("cwd") || null;
    const user = params.get("user") || null;
    if (cwd !== null) checkPath(cwd, "cwd");
    if (user !== null) checkUser(user, "user");
    const row = await options.service.get(team, sandboxId);
    const envd = await options.service.envd(row);
    return { envd, cmd, timeout, cwd, user };
  }

  async function run(ws: WebSocket, { envd, cmd, timeout, cwd, user }: Prepared): Promise<void> {
    const send = (m: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const abort = new AbortController();
    let pid: number | undefined;
    let ended = false;
    // Messages that arrive before the process has a pid wait for it, in order.
    const early: { type?: string; data?: string; signal?: string }[] = [];
    const act = (p: number, m: { type?: string; data?: string; signal?: string }) =>
      (m.type === "stdin" && typeof m.data === "string"
        ? envd.sendStdin(p, Buffer.from(m.data, "base64"))
        : m.type === "close_stdin"
          ? envd.closeStdin(p)
          : m.type === "signal"
            ? envd.kill(p, m.signal === "SIGKILL" ? "SIGKILL" : "SIGTERM")
            : Promise.reject(new ApiError("invalid_argument", `unknown message type '${m.type}'`))
      ).then(
        () => undefined,
        (e: unknown) => void send({ type: "error", error: nativeErrorBody(e instanceof ApiError ? e : envdExecError(e, 0)).error }),
      );
    // One at a time, so stdin chunks keep their order.
    let queue = Promise.resolve();
    const onMessage = (raw: Buffer) => {
      let m: { type?: string; data?: string; signal?: string };
      try {
        m = JSON.parse(raw.toString("utf8")) as typeof m;
      } catch {
        send({ type: "error", error: { code: "invalid_argument", message: "messages must be JSON" } });
        return;
      }
      if (pid === undefined) early.push(m);
      else {
        const p = pid;
        queue = queue.then(() => act(p, m));
      }
    };
    ws.on("message", onMessage);
    // An interactive exec belongs to its socket: when the client goes away, so does the process.
    ws.on("close", () => {
      if (!ended && pid !== undefined) void envd.kill(pid, "SIGKILL").catch(() => undefined);
      abort.abort();
    });
    const result = await envd.exec(
      { cmd, timeoutMs: timeout * 1000, openStdin: true, ...(cwd ? { cwd } : {}), ...(user ? { user } : {}) },
      {
        onStart: (p) => {
          pid = p;
          send({ type: "start", pid: p });
          for (const m of early.splice(0)) queue = queue.then(() => act(p, m));
        },
        onStdout: (d) => send({ type: "stdout", data: Buffer.from(d).toString("base64") }),
        onStderr: (d) => send({ type: "stderr", data: Buffer.from(d).toString("base64") }),
      },
      abort.signal,
    );
    ended = true;
    send({ type: "exit", exitCode: result.exitCode, ...(result.error ? { error: result.error } : {}) });
  }

  return {
    /** True when the request is ours to upgrade; the caller then leaves the socket alone. */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      let url: URL;
      try {
        // A request target such as `//` is no URL relative to any base: not ours (the caller answers 404).
        url = new URL(req.url ?? "/", "http://api");
      } catch {
        return false;
      }
      const match = EXEC_PATH.exec(url.pathname);
      if (match === null) return false;
      let sandboxId: string;
      try {
        sandboxId = decodeURIComponent(match[1] as string);
      } catch {
        sandboxId = "";
      }
      prepare(sandboxId, url.searchParams, req.headers)
        .then(
          (prepared) =>
            wss.handleUpgrade(req, socket, head, (ws) => {
              run(ws, prepared)
                .catch((e: unknown) => {
                  const err = e instanceof ApiError ? e : envdExecError(e, 0);
                  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "error", ...nativeErrorBody(err) }));
                })
                .finally(() => ws.close(1000));
            }),
          (e: unknown) => refuse(socket, e instanceof ApiError ? e : envdExecError(e, 0)),
        )
        // Nothing a client sends may become an unhandled rejection (it would end the process).
        .catch((e: unknown) => {
          options.logger.error({ err: e }, "exec upgrade failed");
          socket.destroy();
        });
      return true;
    },
    close(): void {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
