// The edge's validation layer: pure rules as tables, then the api in process (PGlite, no node
// behind it) answering malformed ids, queries and bodies with 4xx in its own shapes, never 500.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { Kysely } from "kysely";
import { createNodeClient } from "@cove/protocol/nodeapi-client";
import { createApi, createDatabase, createTeamWithKey, migrate, type Api } from "../src/index.js";
import type { Database } from "../src/db/schema.js";
import { body } from "../src/http/input.js";
import {
  checkCommand,
  checkEnvVars,
  checkMetadata,
  checkName,
  checkParams,
  checkPath,
  checkQuery,
  checkTemplateRef,
  checkUser,
  isCleanText,
  parseTime,
  PARAM_RULES,
} from "../src/http/validate.js";
import { ApiError } from "../src/errors.js";

/** The ApiError code a check throws, or "ok". */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
}

describe("validation rules", () => {
  it("path parameters: malformed ids are not found", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sandboxID: "i8k2x3v0m1q9abcdefgh" }, "ok"],
      [{ sandboxID: "abc-def" }, "ok"],
      [{ sandboxID: "abc\0def" }, "not_found"],
      [{ sandboxID: "ABC" }, "not_found"],
      [{ sandboxID: "" }, "not_found"],
      [{ sandboxID: "-abc" }, "not_found"],
      [{ sandboxID: "a".repeat(64) }, "not_found"],
      [{ sandboxID: "ü" }, "not_found"],
      [{ sandboxID: "../etc" }, "not_found"],
      [{ templateID: "base" }, "ok"],
      [{ templateID: "team/name:v1.2" }, "ok"],
      [{ templateID: "base\0" }, "not_found"],
      [{ templateID: " base" }, "not_found"],
      [{ alias: "x".repeat(256) }, "not_found"],
      [{ keyID: "0b7c6f2e-3c1d-4a8e-9f0a-1b2c3d4e5f60" }, "ok"],
      [{ keyID: "abc" }, "not_found"],
      [{ keyID: "0B7C6F2E-3C1D-4A8E-9F0A-1B2C3D4E5F60" }, "not_found"],
      [{ "*": "anything\0at/all" }, "ok"],
      [{ unknownParam: "x" }, "internal"],
    ];
    for (const [params, want] of cases)
      assert.equal(
        outcome(() => checkParams(params)),
        want,
        JSON.stringify(params),
      );
  });

  it("queries: NUL bytes and lone surrogates are bad requests, anything else passes on", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ state: "running", limit: "10" }, "ok"],
      [{ state: ["running", "paused"] }, "ok"],
      [{ path: "/home/user/ünïcode 😀.txt" }, "ok"],
      [{ path: "/tmp/a\0b" }, "invalid_argument"],
      [{ "na\0me": "x" }, "invalid_argument"],
      [{ state: ["running", "\0"] }, "invalid_argument"],
      [{ metadata: "\uD800" }, "invalid_argument"],
      [{ metadata: "\uDC00x" }, "invalid_argument"],
    ];
    for (const [q, want] of cases)
      assert.equal(
        outcome(() => checkQuery(q)),
        want,
        JSON.stringify(q),
      );
  });

  it("fields: templates, metadata, env vars, names, users, paths, times", () => {
    const cases: [() => unknown, string][] = [
      [() => checkTemplateRef("base"), "ok"],
      [() => checkTemplateRef("base\0"), "not_found"],
      [() => checkTemplateRef("a b"), "not_found"],
      [() => checkMetadata({ owner: "ci", "": "" }, "metadata"), "ok"],
      [() => checkMetadata({ owner: "c\0i" }, "metadata"), "invalid_argument"],
      [() => checkMetadata({ "\uD83D": "x" }, "metadata"), "invalid_argument"],
      [() => checkEnvVars({ PATH: "/bin", "my.var": "x=y" }, "envs"), "ok"],
      [() => checkEnvVars({ "A=B": "x" }, "envs"), "invalid_argument"],
      [() => checkEnvVars({ "": "x" }, "envs"), "invalid_argument"],
      [() => checkEnvVars({ A: "x\0" }, "envs"), "invalid_argument"],
      [() => checkName("ci key", "name"), "ok"],
      [() => checkName("", "name"), "invalid_argument"],
      [() => checkName("a\nb", "name"), "invalid_argument"],
      [() => checkName("x".repeat(201), "name"), "invalid_argument"],
      [() => checkUser("root", "user"), "ok"],
      [() => checkUser("user name", "user"), "invalid_argument"],
      [() => checkUser("x".repeat(33), "user"), "invalid_argument"],
      [() => checkCommand("echo 'hi' && ls", "cmd"), "ok"],
      [() => checkCommand("x".repeat(131_071), "cmd"), "ok"],
      [() => checkCommand("x".repeat(131_072), "cmd"), "invalid_argument"],
      [() => checkCommand("echo \0", "cmd"), "invalid_argument"],
      [() => checkPath("/home/user/a b.txt", "path"), "ok"],
      [() => checkPath("/a\0", "path"), "invalid_argument"],
      [() => checkPath(`/${"a".repeat(5000)}`, "path"), "invalid_argument"],
    ];
    for (const [fn, want] of cases) assert.equal(outcome(fn), want, fn.toString());
    assert.equal(isCleanText("😀"), true);
    assert.equal(isCleanText("a\uD83D"), false);
    assert.deepEqual(parseTime("2026-12-02T10:00:00.123Z"), new Date("2026-12-02T10:00:00.123Z"));
    assert.deepEqual(parseTime("2026-12-02T10:00:00+02:00"), new Date("2026-12-02T08:00:00Z"));
    for (const bad of ["-100000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "2026-13-45T00:00:00Z", "yesterday", "2026", ""]) {
      assert.equal(parseTime(bad), undefined, bad);
    }
  });

  it("bodies: only JSON objects; a raw stream or buffer is not one", () => {
    assert.deepEqual(body({ a: 1 }), { a: 1 });
    assert.equal(Object.keys(body(Object.create(null) as object)).length, 0);
    for (const bad of [[1], 5, "x", new PassThrough(), Buffer.from("{}")])
      assert.equal(
        outcome(() => body(bad)),
        "invalid_argument",
      );
  });
});

describe("the api at its edge (in process)", () => {
  let dir: string;
  let db: Kysely<Database>;
  let api: Api;
  let key: string;
  let admin: string;

  before(async () => {
    dir = mkdtempSync("/tmp/cove-api-validation-");
    db = createDatabase({ dataDir: dir });
    await migrate(db);
    // No node behind it (port 9 on loopback refuses): every answer here comes from the edge or the database.
    api = await createApi({ db, node: createNodeClient({ baseUrl: "http://127.0.0.1:9", secret: "unused" }), logger: pino({ level: "silent" }) });
    key = (await createTeamWithKey(db, "plain", { sandboxLimit: 0 })).apiKey;
    admin = (await createTeamWithKey(db, "admin", { isAdmin: true })).apiKey;
  });
  after(async () => {
    await api.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, url: string, init: { payload?: string | object; headers?: Record<string, string>; key?: string } = {}) => {
    const res = await api.app.inject({
      method: method as "GET",
      url,
      headers: { "x-api-key": init.key ?? key, ...init.headers },
      ...(init.payload !== undefined ? { payload: init.payload } : {}),
    });
    return { status: res.statusCode, body: res.body, json: () => res.json() as Record<string, unknown> };
  };

  it("a NUL in a sandbox id is a 404 not_found on every sandbox route, not a 500", async () => {
    const routes: [string, string, object?][] = [
      ["GET", "/sandboxes/abc%00def"],
      ["DELETE", "/sandboxes/abc%00def"],
      ["POST", "/sandboxes/abc%00def/timeout", { timeout: 10 }],
      ["POST", "/sandboxes/abc%00def/refreshes", { duration: 10 }],
      ["POST", "/sandboxes/abc%00def/pause"],
      ["POST", "/sandboxes/abc%00def/resume", {}],
      ["POST", "/sandboxes/abc%00def/connect", { timeout: 10 }],
      ["POST", "/v2/sandboxes/abc%00def/connect", { timeout: 10 }],
      ["GET", "/sandboxes/abc%00def/metrics"],
      ["GET", "/sandboxes/abc%00def/logs"],
      ["GET", "/v2/sandboxes/abc%00def/logs"],
    ];
    for (const [method, url, payload] of routes) {
      const r = await call(method, url, payload ? { payload } : {});
      assert.equal(r.status, 404, `${method} ${url}: ${r.body}`);
      assert.deepEqual(r.json(), { code: 404, message: "sandbox not found (malformed id)", error_code: "not_found" });
    }
    for (const [method, url] of [
      ["GET", "/v1/sandboxes/abc%00def"],
      ["DELETE", "/v1/sandboxes/abc%00def"],
      ["POST", "/v1/sandboxes/%00/exec"],
      ["GET", "/v1/sandboxes/a%00/files?path=/x"],
    ]) {
      const r = await call(method!, url!, method === "POST" ? { payload: { cmd: "true" } } : {});
      assert.equal(r.status, 404, `${method} ${url}: ${r.body}`);
      assert.deepEqual(r.json(), { error: { code: "not_found", message: "sandbox not found (malformed id)" } });
    }
  });

  it("other malformed ids and queries: 404 for ids, 400 for queries and fields, in the route's own shape", async () => {
    const cases: [string, string, number, string, object?][] = [
      ["DELETE", "/v1/keys/%00", 404, "not_found"],
      ["DELETE", "/v1/keys/not-a-uuid", 404, "not_found"],
      ["GET", "/templates/%00", 404, "not_found"],
      ["GET", "/templates/aliases/a%20b", 404, "not_found"],
      ["GET", `/sandboxes/${"a".repeat(300)}`, 404, "not_found"],
      ["GET", "/sandboxes/%E0%A4%A", 400, "invalid_argument"],
      ["GET", "/v2/sandboxes?template=%00", 400, "invalid_argument"],
      ["GET", "/v2/sandboxes?template=a%20b", 400, "invalid_argument"],
      ["GET", "/v2/sandboxes?metadata=a%3D%2500", 400, "invalid_argument"],
      ["GET", "/v2/sandboxes?startedAfter=-100000-01-01T00:00:00Z", 400, "invalid_argument"],
      ["GET", `/v2/sandboxes?nextToken=${Buffer.from("-100000-01-01T00:00:00Z__abc").toString("base64url")}`, 400, "invalid_argument"],
      ["GET", "/v2/sandboxes?limit=99999999999999999999", 400, "invalid_argument"],
      ["GET", "/sandboxes/metrics?sandbox_ids=a%00,b", 400, "invalid_argument"],
      ["GET", "/v1/sandboxes?state=%00", 400, "invalid_argument"],
      ["POST", "/v1/keys", 400, "invalid_argument", { name: "a\u0000b" }],
      ["POST", "/v2/sandboxes", 400, "invalid_argument", { metadata: { k: "\u0000" } }],
      ["POST", "/v2/sandboxes", 400, "invalid_argument", { metadata: { k: "\ud800" } }],
      ["POST", "/v2/sandboxes", 400, "invalid_argument", { envVars: { "A=B": "x" } }],
      ["POST", "/v2/sandboxes", 404, "not_found", { templateID: "base\u0000" }],
      ["POST", "/v1/sandboxes", 404, "not_found", { template: "x".repeat(300) }],
      ["POST", "/v2/sandboxes", 400, "invalid_argument", { timeout: 1e300 }],
    ];
    for (const [method, url, status, code, payload] of cases) {
      const r = await call(method, url, payload ? { payload } : {});
      assert.equal(r.status, status, `${method} ${url} ${JSON.stringify(payload)}: ${r.body}`);
      const got = url.startsWith("/v1/") ? (r.json().error as { code: string }).code : r.json().error_code;
      assert.equal(got, code, `${method} ${url}`);
    }
    // Only the admin team makes teams; its malformed requests are refused before anything is written.
    for (const payload of [{ name: "x\u0000" }, { name: "ok", sandboxLimit: 1e20 }, { name: "x".repeat(500) }]) {
      const r = await call("POST", "/v1/teams", { payload, key: admin });
      assert.equal(r.status, 400, r.body);
    }
  });

  it("malformed bodies are 4xx in the route's shape and name no internals", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const cases: [string, string, string | object, Record<string, string>, number][] = [
      ["POST", "/v2/sandboxes", "{not json", { "content-type": "application/json" }, 400],
      ["POST", "/v2/sandboxes", "", { "content-type": "application/json" }, 400],
      ["POST", "/v2/sandboxes", '{"__proto__": {"x": 1}}', { "content-type": "application/json" }, 400],
      ["POST", "/v2/sandboxes", "timeout=5", { "content-type": "application/x-www-form-urlencoded" }, 400],
      ["POST", "/v2/sandboxes", "hello", { "content-type": "text/plain" }, 400],
      ["POST", "/v2/sandboxes", deep, { "content-type": "application/json" }, 400],
      ["POST", "/v2/sandboxes", `{"metadata": ${deep.slice(0, 1000)}${deep.slice(-1000)}}`, { "content-type": "application/json" }, 400],
      ["POST", "/v2/sandboxes", JSON.stringify({ metadata: { k: "x".repeat(2 << 20) } }), { "content-type": "application/json" }, 413],
      ["POST", "/sandboxes/abc/timeout", JSON.stringify({ timeout: [1] }), { "content-type": "application/json" }, 400],
      ["POST", "/v1/sandboxes", "[]", { "content-type": "application/json" }, 400],
      ["POST", "/v1/keys", "\u0000", { "content-type": "application/octet-stream" }, 400],
      ["POST", "/v1/keys", '{"name": 5}', { "content-type": "application/json; charset=utf-16" }, 400],
    ];
    for (const [method, url, payload, headers, status] of cases) {
      const r = await call(method, url, { payload, headers });
      assert.equal(r.status, status, `${method} ${url} ${String(payload).slice(0, 40)}: ${r.body.slice(0, 200)}`);
      const message = url.startsWith("/v1/") ? (r.json().error as { message: string }).message : String(r.json().message);
      assert.doesNotMatch(message, /FST_|Unexpected token|secure-json|at position|invalid byte sequence/, message);
    }
  });

  it("unauthenticated callers get 401 first, whatever the id; unknown paths do not echo huge urls", async () => {
    const r = await call("GET", "/sandboxes/abc%00def", { key: "e2b_nope" });
    assert.equal(r.status, 401);
    const long = await call("GET", `/nope/${"x".repeat(5000)}`);
    assert.equal(long.status, 404);
    assert.ok(long.body.length < 400, long.body);
  });

  it("the WebSocket exec path declines request targets that are no URL instead of throwing", () => {
    const socket = new PassThrough();
    for (const url of ["//", "//[", "/\\\\", "//a:b@"]) {
      assert.equal(api.handleUpgrade({ url, headers: {} } as IncomingMessage, socket, Buffer.alloc(0)), false, url);
    }
  });

  it("every path parameter of every route has a rule", () => {
    const names = new Set<string>();
    for (const m of api.app.printRoutes({ commonPrefix: false }).matchAll(/:(\w+)/g)) names.add(m[1]!);
    assert.ok(names.has("sandboxID"));
    assert.deepEqual(
      [...names].filter((n) => !Object.hasOwn(PARAM_RULES, n)),
      [],
    );
  });
});
