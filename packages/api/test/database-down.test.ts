// With its database unreachable the api answers 503 + Retry-After (a retryable condition), not 500.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { createNodeClient } from "@cove/protocol/nodeapi-client";
import { createApi, createDatabase, type Api } from "../src/index.js";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.js";

describe("database unavailable", () => {
  let db: Kysely<Database>;
  let api: Api;
  before(async () => {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    db = createDatabase({ url: "postgres://cove:cove@127.0.0.1:1/cove" });
    api = await createApi({ db, node: createNodeClient({ baseUrl: "http://127.0.0.1:9", secret: "unused" }), logger: pino({ level: "silent" }) });
  });
  after(async () => {
    await api.close();
    await db.destroy();
  });

  it("is a 503 with Retry-After on both APIs, and health still answers", async () => {
    const e2b = await api.app.inject({ method: "GET", url: "/v2/sandboxes", headers: { "x-api-key": "e2b_0000000000000000000000000000000000000000" } });
    assert.equal(e2b.statusCode, 503);
    assert.equal(e2b.headers["retry-after"], "1");
    assert.deepEqual(e2b.json(), { code: 503, message: "the database is unavailable; retry shortly", error_code: "unavailable" });
    const native = await api.app.inject({ method: "GET", url: "/v1/sandboxes", headers: { "x-api-key": "e2b_0000000000000000000000000000000000000000" } });
    assert.equal(native.statusCode, 503);
    assert.equal((native.json() as { error: { code: string } }).error.code, "unavailable");
    assert.equal((await api.app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  });
});
