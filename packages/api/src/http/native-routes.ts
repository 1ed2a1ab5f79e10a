import { Readable } from "node:stream";
import { ConnectError } from "@connectrpc/connect";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createKey, createTeam, listKeys, revokeKey } from "../auth/keys.js";
import type { Database } from "../db/schema.js";
import { ApiError, invalid, notFound } from "../errors.js";
import { envdFileError } from "../sandboxes/envd.js";
import type { SandboxService } from "../sandboxes/service.js";
import type { SandboxRow } from "../sandboxes/store.js";
import { requireTeam } from "./auth.js";
import { body, onlyFields, optBool, optInt, optString, optStringMap } from "./input.js";
import { checkCommand, checkEnvVars, checkMetadata, checkName, checkPath, checkTemplateRef, checkUser } from "./validate.js";
import { usableBy } from "./template-routes.js";

export interface NativeRoutesOptions {
  db: Kysely<Database>;
  service: SandboxService;
  node: NodeClient;
}

type Params = { sandboxID: string };

/** Largest exec output kept per stream for the JSON answer; beyond it, use the WebSocket. */
export const EXEC_OUTPUT_LIMIT = 16 << 20;

export function nativeSandbox(row: SandboxRow) {
  return {
    id: row.sandbox_id,
    template: row.template_id,
    state: row.state,
    startedAt: row.started_at.toISOString(),
    endAt: row.end_at.toISOString(),
    cpuCount: row.cpu_count,
    memoryMB: row.memory_mb,
    diskMB: row.disk_mb,
    metadata: row.metadata,
    internet: row.allow_internet_access,
  };
}

/** Output as text when it is valid UTF-8, else base64 (flagged, so nothing is lost). */
export function encodeOutput(name: "stdout" | "stderr", data: Buffer): Record<string, string> {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(data);
  if (Buffer.from(text, "utf8").equals(data)) return { [name]: text };
  return { [name]: data.toString("base64"), [`${name}Encoding`]: "base64" };
}

/** The curl-friendly API under /v1. Errors are `{"error": {"code", "message"}}` (see app.ts). */
export function registerNativeRoutes(app: FastifyInstance, options: NativeRoutesOptions): void {
  const { db, service, node } = options;

  // Uploads arrive as raw bytes under whatever type curl picked (--data-binary says form-urlencoded):
  // every type without a parser of its own reaches the route as the untouched stream.
  app.addContentTypeParser("*", (_req, payload, done) => done(null, payload));

  app.post("/v1/sandboxes", async (req, reply) => {
    const b = onlyFields(body(req.body), ["template", "timeout", "metadata", "envs", "internet", "autoPause", "autoResume", "public"]);
    const templateId = optString(b, "template") ?? "base";
    if (templateId === "") throw invalid("template must not be empty");
    checkTemplateRef(templateId);
    const row = await service.create(requireTeam(req), {
      templateId,
      timeoutSeconds: optInt(b, "timeout") ?? 300,
      metadata: checkMetadata(optStringMap(b, "metadata") ?? {}, "metadata"),
      envVars: checkEnvVars(optStringMap(b, "envs") ?? {}, "envs"),
      allowInternetAccess: optBool(b, "internet") ?? true,
      autoPause: optBool(b, "autoPause") ?? false,
      autoResume: optBool(b, "autoResume") ?? false,
      secure: true,
      allowPublicTraffic: optBool(b, "public") ?? true,
    });
    return reply.code(201).send(nativeSandbox(row));
  });

  app.get("/v1/sandboxes", async (req) => {
    const q = body(req.query);
    const state = optString(q, "state");
    if (state !== undefined && state !== "running" && state !== "paused") throw invalid("state must be running or paused");
    const team = requireTeam(req);
    const rows: SandboxRow[] = [];
    for (let after: { startedAt: Date; sandboxId: string } | undefined; ; ) {
      const page = await service.list(team, { states: state ? [state] : ["running", "paused"], order: "desc", limit: 100, ...(after ? { after } : {}) });
      rows.push(...page.rows);
      const last = page.rows.at(-1);
      if (!page.more || last === undefined) break;
      after = { startedAt: last.started_at, sandboxId: last.sandbox_id };
    }
    return { sandboxes: rows.map(nativeSandbox) };
  });

  app.get<{ Params: Params }>("/v1/sandboxes/:sandboxID", async (req) => nativeSandbox(await service.get(requireTeam(req), req.params.sandboxID)));

  app.delete<{ Params: Params }>("/v1/sandboxes/:sandboxID", async (req, reply) => {
    await service.kill(requireTeam(req), req.params.sandboxID);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/v1/sandboxes/:sandboxID/pause", async (req, reply) => {
    await service.pause(requireTeam(req), req.params.sandboxID);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>("/v1/sandboxes/:sandboxID/resume", async (req) => {
    const row = await service.resume(requireTeam(req), req.params.sandboxID, optInt(body(req.body), "timeout"));
    return nativeSandbox(row);
  });

  const envdOf = async (req: FastifyRequest<{ Params: Params }>) => service.envd(await service.get(requireTeam(req), req.params.sandboxID));

  app.post<{ Params: Params }>("/v1/sandboxes/:sandboxID/exec", async (req) => {
    const b = onlyFields(body(req.body), ["cmd", "cwd", "envs", "user", "timeout", "stdin"]);
    const cmd = optString(b, "cmd");
    if (cmd === undefined || cmd === "") throw invalid("cmd is required");
    checkCommand(cmd, "cmd");
    const stdinText = optString(b, "stdin");
    const timeout = optInt(b, "timeout") ?? 60;
    const cwd = optPath(b, "cwd");
    const user = optUser(b, "user");
    const envs = optStringMap(b, "envs");
    if (envs) checkEnvVars(envs, "envs");
    const envd = await envdOf(req);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    const keep = (list: Buffer[], data: Uint8Array, size: number): number => {
      if (size + data.length > EXEC_OUTPUT_LIMIT) {
        truncated = true;
        return size;
      }
      list.push(Buffer.from(data));
      return size + data.length;
    };
    const result = await envd
      .exec(
        {
          cmd,
          timeoutMs: timeout * 1000,
          ...(cwd ? { cwd } : {}),
          ...(user ? { user } : {}),
          ...(envs ? { envs } : {}),
          ...(stdinText !== undefined ? { stdin: Buffer.from(stdinText) } : {}),
        },
        { onStdout: (d) => (outBytes = keep(out, d, outBytes)), onStderr: (d) => (errBytes = keep(err, d, errBytes)) },
      )
      .catch((e: unknown) => {
        // Past its timeout envd kills the command; the output so far still belongs to the caller.
        if ((e as { code?: number }).code === 4) return { pid: 0, exitCode: 124, error: `timed out after ${timeout} s`, timedOut: true };
        throw envdExecError(e, timeout);
      });
    return {
      exitCode: result.exitCode,
      ...encodeOutput("stdout", Buffer.concat(out)),
      ...encodeOutput("stderr", Buffer.concat(err)),
      ...(result.error ? { error: result.error } : {}),
      ...(truncated ? { truncated: true } : {}),
      ...("timedOut" in result ? { timedOut: true } : {}),
    };
  });

  // The WebSocket exec lives at this path (exec-ws.ts); a plain GET gets told how to use it.
  app.get<{ Params: Params }>("/v1/sandboxes/:sandboxID/exec", async (req) => {
    await service.get(requireTeam(req), req.params.sandboxID);
    throw new ApiError("upgrade_required", "GET here is the streaming exec: open a WebSocket (Connection: Upgrade), or POST for a one-shot exec");
  });

  app.get<{ Params: Params }>("/v1/sandboxes/:sandboxID/files", async (req, reply) => {
    const q = body(req.query);
    const path = optPath(q, "path");
    if (!path) throw invalid("path is required");
    const user = optUser(q, "user");
    const envd = await envdOf(req);
    const res = await envd.readFile(path, user);
    if (!res.ok || res.body === null) throw envdFileError(res.status, await res.text(), path);
    reply.header("content-type", "application/octet-stream");
    const length = res.headers.get("content-length");
    if (length !== null) reply.header("content-length", length);
    return reply.send(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>));
  });

  app.put<{ Params: Params }>("/v1/sandboxes/:sandboxID/files", async (req, reply) => {
    const q = body(req.query);
    const path = optPath(q, "path");
    if (!path) throw invalid("path is required");
    const user = optUser(q, "user");
    const envd = await envdOf(req);
    // JSON and text bodies were parsed by their own parsers; anything else is the raw stream.
    if (req.body !== undefined && !(req.body instanceof Readable) && typeof req.body !== "string") {
      throw invalid("send the file's bytes as the body (content-type application/octet-stream), not JSON");
    }
    const data = req.body instanceof Readable ? req.body : Buffer.from(req.body ?? "");
    await envd.writeFile(path, data as AsyncIterable<Uint8Array>, user);
    return reply.code(201).send({ path });
  });

  app.get("/v1/templates", async (req) => {
    const team = requireTeam(req);
    const { templates } = await node.listTemplates({});
    return {
      templates: templates.filter(usableBy(team.id)).map((t) => ({
        id: t.templateId,
        public: t.public,
        tags: t.tags.map((x) => x.tag),
        builtAt: t.builtAt ? timestampDate(t.builtAt).toISOString() : null,
        cpuCount: t.cpuCount,
        memoryMB: t.memoryMb,
        diskMB: t.diskMb,
      })),
    };
  });

  // Keys of the caller's own team.
  app.get("/v1/keys", async (req) => ({ keys: await listKeys(db, requireTeam(req).id) }));

  app.post("/v1/keys", async (req, reply) => {
    const b = body(req.body);
    const kind = optString(b, "kind") ?? "api_key";
    if (kind !== "api_key" && kind !== "access_token") throw invalid("kind must be api_key or access_token");
    const name = checkName(optString(b, "name") ?? kind.replace("_", " "), "name");
    const created = await createKey(db, requireTeam(req).id, { name, kind });
    return reply.code(201).send(created);
  });

  app.delete<{ Params: { keyID: string } }>("/v1/keys/:keyID", async (req, reply) => {
    const result = await revokeKey(db, requireTeam(req).id, req.params.keyID);
    if (result === "missing") throw notFound("key", req.params.keyID);
    if (result === "already") throw new ApiError("conflict", `key '${req.params.keyID}' is already revoked`);
    return reply.code(204).send();
  });

  app.get("/v1/team", async (req) => {
    const t = requireTeam(req);
    return { id: t.id, name: t.name, sandboxLimit: t.sandboxLimit, admin: t.isAdmin };
  });

  // Only the admin team (the one `cove up` creates) makes teams.
  app.post("/v1/teams", async (req, reply) => {
    if (!requireTeam(req).isAdmin) throw new ApiError("forbidden", "only the admin team may create teams");
    const b = body(req.body);
    const name = optString(b, "name");
    if (!name) throw invalid("name is required");
    checkName(name, "name");
    const { team, apiKey } = await createTeam(db, { name, sandboxLimit: optInt(b, "sandboxLimit", 0) ?? null });
    return reply.code(201).send({ id: team.id, name: team.name, sandboxLimit: team.sandboxLimit, apiKey: apiKey.secret });
  });
}

/** An optional path field (a file, a working directory): checked before it reaches envd. */
function optPath(o: Record<string, unknown>, key: string): string | undefined {
  const v = optString(o, key);
  return v === undefined || v === "" ? undefined : checkPath(v, key);
}

function optUser(o: Record<string, unknown>, key: string): string | undefined {
  const v = optString(o, key);
  return v === undefined || v === "" ? undefined : checkUser(v, key);
}

/** Connect errors from envd during exec, in the native API's terms. */
export function envdExecError(err: unknown, timeoutSeconds: number): ApiError {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: number }).code;
  // Connect codes: 4 deadline_exceeded, 3 invalid_argument, 5 not_found, 16 unauthenticated.
  if (code === 4) return new ApiError("unavailable", `the command ran longer than its timeout of ${timeoutSeconds} s and was killed`);
  // envd words these for the caller (a missing cwd, an unknown user); without Connect's "[code]" prefix.
  const shown = err instanceof ConnectError ? err.rawMessage : (err as Error).message;
  if (code === 3) return new ApiError("invalid_argument", shown, { cause: err });
  if (code === 16) return new ApiError("invalid_argument", shown, { cause: err });
  // The cause names addresses and internals: it goes to the log (see error-reply.ts), not to the caller.
  return new ApiError("unavailable", "exec failed: the sandbox's envd could not be reached or failed", { cause: err });
}
