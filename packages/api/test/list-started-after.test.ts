// Sandbox.list({ query: { startedAfter } }): the SDK hands getInfo().startedAt straight back,
// so a sandbox started exactly at the bound is listed. The column holds microseconds, clients
// see milliseconds: equality must hold at the precision clients see, on PGlite and Postgres.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { startHarness, type Harness } from "./helpers/api-harness.js";

const targets: { name: string; postgresUrl?: string }[] = [{ name: "pglite" }];
if (process.env.COVE_TEST_DATABASE_URL) targets.push({ name: "postgres", postgresUrl: process.env.COVE_TEST_DATABASE_URL });

for (const target of targets) {
  describe(`list startedAfter is inclusive (${target.name})`, () => {
    let h: Harness;
    before(async () => (h = await startHarness(target.postgresUrl ? { postgresUrl: target.postgresUrl } : {})));
    after(() => h.close());

    async function listed(key: string, startedAfter: string): Promise<string[]> {
      const res = await h.request("GET", `/v2/sandboxes?startedAfter=${encodeURIComponent(startedAfter)}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { sandboxID: string }[]).map((s) => s.sandboxID);
    }

    async function startedAtOf(key: string, id: string): Promise<string> {
      const res = await h.request("GET", `/sandboxes/${id}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { startedAt: string }).startedAt;
    }

    it("includes a sandbox whose startedAt equals the bound, excludes it 1 ms later", async () => {
      const { key } = await h.team();
      h.node.startedAt = () => new Date("2026-03-04T05:06:07.891Z");
      const id = await h.create({}, key);
      const startedAt = await startedAtOf(key, id);
      assert.equal(startedAt, "2026-03-04T05:06:07.891Z");
      assert.deepEqual(await listed(key, startedAt), [id]);
      assert.deepEqual(await listed(key, "2026-03-04T05:06:07.892Z"), []);
      assert.deepEqual(await listed(key, "2026-03-04T05:06:08.891Z"), []);
      assert.deepEqual(await listed(key, "2026-03-04T05:06:07.890Z"), [id]);
    });

    it("a start stored with microseconds is still included at its millisecond bound", async () => {
      const { key } = await h.team();
      h.node.startedAt = () => new Date("2026-03-04T05:06:07.123Z");
      const id = await h.create({}, key);
      // As a writer with microsecond clocks (Postgres now(), another api) would store it.
      await h.db.updateTable("sandboxes").set({ started_at: sql<Date>`started_at + interval '987 microseconds'` }).where("sandbox_id", "=", id).execute();
      const startedAt = await startedAtOf(key, id);
      assert.equal(startedAt, "2026-03-04T05:06:07.123Z");
      assert.deepEqual(await listed(key, startedAt), [id]);
      assert.deepEqual(await listed(key, "2026-03-04T05:06:07.124Z"), []);
    });

    it("pages through sandboxes that differ only below a millisecond without losing one", async () => {
      const { key } = await h.team();
      h.node.startedAt = () => new Date("2026-05-01T00:00:00.500Z");
      const ids = [await h.create({}, key), await h.create({}, key), await h.create({}, key)];
      await h.db
        .updateTable("sandboxes")
        .set({ started_at: sql<Date>`started_at + (random() * interval '900 microseconds')` })
        .where("sandbox_id", "in", ids)
        .execute();
      const seen: string[] = [];
      let token: string | undefined;
      for (let i = 0; i < 10; i++) {
        const q = `limit=1&startedAfter=2026-05-01T00:00:00.500Z${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`;
        const res = await h.request("GET", `/v2/sandboxes?${q}`, { key });
        assert.equal(res.statusCode, 200, res.body);
        seen.push(...(res.json() as { sandboxID: string }[]).map((s) => s.sandboxID));
        const next = res.headers["x-next-token"];
        if (typeof next !== "string") break;
        token = next;
      }
      assert.deepEqual([...seen].sort(), [...ids].sort());
    });
  });
}
