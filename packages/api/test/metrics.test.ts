// Metrics are a history: the api collects the node's samples (ListMetrics) into the database
// and GET /sandboxes/{id}/metrics (E2B) and /v1/sandboxes/{id}/metrics (native) read a range of
// it. Killed sandboxes keep theirs for the retention window. In process, fake node.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "./helpers/api-harness.js";

interface E2bMetric {
  timestamp: string;
  timestampUnix: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

const targets: { name: string; postgresUrl?: string }[] = [{ name: "pglite" }];
if (process.env.COVE_TEST_DATABASE_URL) targets.push({ name: "postgres", postgresUrl: process.env.COVE_TEST_DATABASE_URL });

const T0 = Date.parse("2026-06-01T12:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000);
const unix = (s: number) => Math.floor((T0 + s * 1000) / 1000);

for (const target of targets) {
  describe(`metrics history (${target.name})`, () => {
    let h: Harness;
    // The collector's timers never fire during a test: it collects and prunes when told.
    before(async () => {
      h = await startHarness({
        ...(target.postgresUrl ? { postgresUrl: target.postgresUrl } : {}),
        api: { metrics: { retentionSeconds: 3600, collectEveryMs: 3_600_000, pruneEveryMs: 3_600_000 } },
      });
    });
    after(() => h.close());

    async function metrics(id: string, query = "", key?: string): Promise<E2bMetric[]> {
      const res = await h.request("GET", `/sandboxes/${id}/metrics${query ? `?${query}` : ""}`, key ? { key } : {});
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as E2bMetric[];
    }

    it("returns every collected sample in E2B's shape, oldest first", async () => {
      const id = await h.create();
      h.node.sample(id, at(0), { cpuUsedPct: 1.5, memUsedBytes: 123n, diskTotalBytes: 4096n });
      h.node.sample(id, at(5), { cpuUsedPct: 2.5 });
      h.node.sample(id, at(10), { cpuUsedPct: 3.5 });
      assert.ok((await h.api.metrics.collect()) >= 3);
      const all = await metrics(id);
      assert.deepEqual(
        all.map((m) => m.cpuUsedPct),
        [1.5, 2.5, 3.5],
      );
      assert.deepEqual(all[0], {
        timestamp: at(0).toISOString(),
        timestampUnix: unix(0),
        cpuCount: 2,
        cpuUsedPct: 1.5,
        memUsed: 123,
        memTotal: 512 << 20,
        memCache: 10 << 20,
        diskUsed: 200 << 20,
        diskTotal: 4096,
      });
      // Collected twice (an api restart re-reads what the node holds): no duplicates.
      await h.api.metrics.collect();
      assert.equal((await metrics(id)).length, 3);
    });

    it("start and end (unix seconds) select a range; a range before the sandbox is empty", async () => {
      const id = await h.create();
      for (let s = 0; s <= 30; s += 5) h.node.sample(id, at(s));
      await h.api.metrics.collect();
      const ts = (list: E2bMetric[]) => list.map((m) => m.timestampUnix - unix(0));
      assert.deepEqual(ts(await metrics(id, `start=${unix(10)}&end=${unix(20)}`)), [10, 15, 20]);
      assert.deepEqual(ts(await metrics(id, `start=${unix(11)}`)), [15, 20, 25, 30]);
      assert.deepEqual(ts(await metrics(id, `end=${unix(4)}`)), [0]);
      assert.deepEqual(await metrics(id, `start=${unix(-3600)}&end=${unix(-1800)}`), []);
      const bad = await h.request("GET", `/sandboxes/${id}/metrics?start=${unix(20)}&end=${unix(10)}`);
      assert.equal(bad.statusCode, 400, bad.body);
      const notNumber = await h.request("GET", `/sandboxes/${id}/metrics?start=yesterday`);
      assert.equal(notNumber.statusCode, 400, notNumber.body);
    });

    it("the native API shows the same samples", async () => {
      const id = await h.create();
      h.node.sample(id, at(0), { cpuUsedPct: 7 });
      h.node.sample(id, at(5), { cpuUsedPct: 8 });
      await h.api.metrics.collect();
      const res = await h.request("GET", `/v1/sandboxes/${id}/metrics?start=${unix(5)}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { metrics: { at: string; cpuUsedPct: number; memTotalBytes: number }[] };
      assert.deepEqual(
        body.metrics.map((m) => [m.at, m.cpuUsedPct, m.memTotalBytes]),
        [[at(5).toISOString(), 8, 512 << 20]],
      );
    });

    it("samples of sandboxes the api has no record of (a warm pool's) are not kept; other teams get 404", async () => {
      h.node.sample("pooled000001", at(0));
      const id = await h.create();
      h.node.sample(id, at(0));
      await h.api.metrics.collect();
      const n = await h.db.selectFrom("sandbox_metrics").select("sandbox_id").where("sandbox_id", "=", "pooled000001").execute();
      assert.equal(n.length, 0);
      const other = await h.team();
      const res = await h.request("GET", `/sandboxes/${id}/metrics`, { key: other.key });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal((res.json() as { code: number }).code, 404);
      const unknown = await h.request("GET", "/sandboxes/nosuchsandbox/metrics");
      assert.equal(unknown.statusCode, 404, unknown.body);
    });

    it("the batch endpoint gives each listed sandbox's newest sample", async () => {
      const a = await h.create();
      const b = await h.create();
      h.node.sample(a, at(100), { cpuUsedPct: 1 });
      h.node.sample(a, at(105), { cpuUsedPct: 2 });
      await h.api.metrics.collect();
      const res = await h.request("GET", `/sandboxes/metrics?sandbox_ids=${a},${b},bogus`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { sandboxes: Record<string, E2bMetric> };
      assert.deepEqual(Object.keys(body.sandboxes), [a]);
      assert.equal(body.sandboxes[a]?.cpuUsedPct, 2);
    });

    it("a killed sandbox keeps its history for the retention window, then pruning drops it", async () => {
      const live = await h.create();
      const killed = await h.create();
      h.node.sample(live, at(0));
      h.node.sample(killed, at(0));
      await h.api.metrics.collect();
      const del = await h.request("DELETE", `/sandboxes/${killed}`);
      assert.equal(del.statusCode, 204, del.body);
      await h.api.metrics.prune();
      assert.equal((await metrics(killed)).length, 1, "kept within the retention window");
      // As if the kill was two hours ago (retention is one hour here).
      await h.db
        .updateTable("sandboxes")
        .set({ killed_at: new Date(Date.now() - 7200_000) })
        .where("sandbox_id", "=", killed)
        .execute();
      assert.ok((await h.api.metrics.prune()) >= 1);
      assert.deepEqual(await metrics(killed), []);
      // A live sandbox's samples stay, however old.
      assert.equal((await metrics(live)).length, 1);
    });
  });
}
