// The hand-written OpenAPI document and the routes the api registers must agree, both ways.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { createNodeClient } from "@cove/protocol/nodeapi-client";
import { createApi, createDatabase, migrate, type Api } from "../src/index.js";
import { UNSUPPORTED_ROUTES } from "../src/http/e2b-routes.js";
import { API_ERROR_CODES } from "../src/errors.js";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.js";

/** `METHOD /path/{}` (parameter names dropped) for every operation under `paths:` (the document's own indentation). */
function documented(): Set<string> {
  const text = readFileSync(new URL("../openapi.yaml", import.meta.url), "utf8");
  const paths = text.slice(text.indexOf("\npaths:\n"), text.indexOf("\ncomponents:\n"));
  const out = new Set<string>();
  let path = "";
  for (const line of paths.split("\n")) {
    const p = /^ {2}(\/\S*):\s*$/.exec(line);
    if (p) path = p[1]!;
    const m = /^ {4}(get|post|put|delete|patch):\s*$/.exec(line);
    if (m && path) out.add(`${m[1]!.toUpperCase()} ${path.replace(/\{\w+\}/g, "{}")}`);
  }
  return out;
}

/** `METHOD /path/{}` for every route in Fastify's route tree (HEAD is Fastify's own). */
function registered(api: Api): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of api.app.printRoutes({ commonPrefix: false }).split("\n")) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const url = stack.join("").replace(/:\w+/g, "{}");
    for (const method of (m[3] ?? "").split(", ").filter((x) => x && x !== "HEAD")) out.add(`${method} ${url}`);
  }
  return out;
}

describe("openapi.yaml", () => {
  let dir: string;
  let db: Kysely<Database>;
  let api: Api;
  before(async () => {
    dir = mkdtempSync("/tmp/cove-api-openapi-");
    db = createDatabase({ dataDir: dir });
    await migrate(db);
    // No node behind it: only the route table is looked at.
    api = await createApi({ db, node: createNodeClient({ baseUrl: "http://127.0.0.1:9", secret: "unused" }), logger: pino({ level: "silent" }) });
  });
  after(async () => {
    await api.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("documents every route, and every documented operation exists", () => {
    const docs = documented();
    const routes = registered(api);
    assert.ok(routes.size > 30, `parsed ${routes.size} routes`);
    // Not operations of their own: the UI's assets, and E2B endpoints that answer 501 (listed in the description).
    const exempt = new Set(["GET /docs/{}", ...UNSUPPORTED_ROUTES.map(([m, u]) => `${m} ${u.replace(/:\w+/g, "{}")}`)]);
    const undocumented = [...routes].filter((r) => !docs.has(r) && !exempt.has(r));
    const missing = [...docs].filter((d) => !routes.has(d));
    assert.deepEqual(undocumented, [], "routes missing from openapi.yaml");
    assert.deepEqual(missing, [], "documented operations the api does not serve");
  });

  it("lists exactly the api's error codes", () => {
    const text = readFileSync(new URL("../openapi.yaml", import.meta.url), "utf8");
    const block = /\n {4}ErrorCode:\n[\s\S]*?enum:\n((?: {8}- \w+\n)+)/.exec(text);
    assert.ok(block, "ErrorCode enum not found");
    const documentedCodes = [...block[1]!.matchAll(/- (\w+)/g)].map((m) => m[1]!);
    assert.deepEqual([...documentedCodes].sort(), [...API_ERROR_CODES].sort());
  });
});
