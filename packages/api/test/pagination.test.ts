// GET /v2/sandboxes as the SDK pages through it (spec 3.4): limits, X-Next-Token across
// deletes and ties, filters and X-Total-Running. In process against the fake node.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "./helpers/api-harness.js";

interface Listed {
  sandboxID: string;
  state: string;
  startedAt: string;
  metadata: Record<string, string>;
}

describe("list pagination (api in process, fake node)", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  /** The next creates start one second apart from `base` (or all at `base` with step 0). */
  function startTimes(base: string, stepMs = 1000) {
    let n = 0;
    h.node.startedAt = () => new Date(Date.parse(base) + stepMs * n++);
  }

  async function page(key: string, query: string) {
    const res = await h.request("GET", `/v2/sandboxes${query ? `?${query}` : ""}`, { key });
    assert.equal(res.statusCode, 200, res.body);
    const next = res.headers["x-next-token"];
    return { items: res.json() as Listed[], next: typeof next === "string" ? next : undefined, running: res.headers["x-total-running"] };
  }

  /** Every id over all pages, following X-Next-Token as the SDK does. */
  async function walk(key: string, query: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const p = await page(key, [query, token ? `nextToken=${encodeURIComponent(token)}` : ""].filter(Boolean).join("&"));
      ids.push(...p.items.map((s) => s.sandboxID));
      if (p.next === undefined) return ids;
      assert.ok(p.items.length > 0, "a page with a next token is not empty");
      token = p.next;
    }
    throw new Error("pagination did not end");
  }

  it("limit: 1 to 100, default 100; out of range or not a number is a 400 in E2B's shape", async () => {
    const { key } = await h.team(200);
    startTimes("2026-01-01T00:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) ids.push(await h.create({}, key));
    const newestFirst = [...ids].reverse();

    const first = await page(key, "");
    assert.equal(first.items.length, 100);
    assert.ok(first.next);
    assert.equal(first.running, "101");
    const rest = await page(key, `nextToken=${encodeURIComponent(first.next)}`);
    assert.deepEqual(
      rest.items.map((s) => s.sandboxID),
      [ids[0]],
    );
    assert.equal(rest.next, undefined);
    assert.deepEqual(
      (await page(key, "limit=100")).items.map((s) => s.sandboxID),
      newestFirst.slice(0, 100),
    );
    assert.deepEqual(
      (await page(key, "limit=1")).items.map((s) => s.sandboxID),
      newestFirst.slice(0, 1),
    );

    for (const bad of ["0", "101", "-1", "1.5", "ten"]) {
      const res = await h.request("GET", `/v2/sandboxes?limit=${bad}`, { key });
      assert.equal(res.statusCode, 400, `limit=${bad}`);
      assert.deepEqual(res.json(), { code: 400, message: "limit must be an integer from 1 to 100", error_code: "invalid_argument" });
    }
    assert.deepEqual(await walk(key, "limit=7"), newestFirst);
    assert.deepEqual(await walk(key, "limit=33&order=asc"), ids);
  });

  it("sandboxes started at the same instant are each listed once, in both orders", async () => {
    const { key } = await h.team(10);
    startTimes("2026-02-01T00:00:00Z", 0);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await h.create({}, key));
    const sorted = [...ids].sort();
    assert.deepEqual(await walk(key, "limit=2"), [...sorted].reverse());
    assert.deepEqual(await walk(key, "limit=2&order=asc"), sorted);
  });

  it("a next token still works after its own sandbox and the next one are killed", async () => {
    const { key } = await h.team(10);
    startTimes("2026-03-01T00:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await h.create({}, key));
    const newestFirst = [...ids].reverse();
    const first = await page(key, "limit=3");
    assert.deepEqual(
      first.items.map((s) => s.sandboxID),
      newestFirst.slice(0, 3),
    );
    assert.ok(first.next);
    // The token's anchor (3rd) and the first sandbox of the next page (4th) go away.
    for (const id of [newestFirst[2], newestFirst[3]]) assert.equal((await h.request("DELETE", `/sandboxes/${id}`, { key })).statusCode, 204);
    const second = await page(key, `limit=3&nextToken=${encodeURIComponent(first.next)}`);
    assert.deepEqual(
      second.items.map((s) => s.sandboxID),
      newestFirst.slice(4),
    );
    assert.equal(second.next, undefined);

    // Everything after the token gone: an empty last page, not an error.
    for (const id of newestFirst.slice(4)) await h.request("DELETE", `/sandboxes/${id}`, { key });
    const empty = await page(key, `limit=3&nextToken=${encodeURIComponent(first.next)}`);
    assert.deepEqual(empty.items, []);
    assert.equal(empty.next, undefined);
    assert.equal(empty.running, "2");
  });

  it("state and metadata filters page through matches only; X-Total-Running counts running matches", async () => {
    const { key } = await h.team(20);
    startTimes("2026-04-01T00:00:00Z");
    const web: string[] = [];
    const db: string[] = [];
    for (let i = 0; i < 4; i++) web.push(await h.create({ metadata: { "app name": "web&co", i: String(i) } }, key));
    for (let i = 0; i < 3; i++) db.push(await h.create({ metadata: { "app name": "db" } }, key));
    for (const id of [web[0], web[2], db[1]]) assert.equal((await h.request("POST", `/sandboxes/${id}/pause`, { key })).statusCode, 204);

    // The SDK's wire form for {'app name': 'web&co'} (spec 3.4: encoded three times).
    const inner = new URLSearchParams({ [encodeURIComponent("app name")]: encodeURIComponent("web&co") }).toString();
    const webFilter = `metadata=${encodeURIComponent(inner)}`;
    assert.deepEqual(await walk(key, `${webFilter}&limit=1`), [...web].reverse());
    assert.deepEqual(await walk(key, `${webFilter}&state=paused&limit=1`), [web[2], web[0]]);
    assert.deepEqual(await walk(key, `${webFilter}&state=running,paused&limit=3`), [...web].reverse());
    assert.deepEqual(await walk(key, `state=running&limit=2`), [db[2], db[0], web[3], web[1]]);
    assert.equal((await page(key, `${webFilter}&state=paused`)).running, "2", "running matches, whatever the state filter");
    assert.equal((await page(key, "state=paused")).running, "4");
    const mixed = (await page(key, `metadata=${encodeURIComponent(new URLSearchParams({ i: "2" }).toString())}`)).items;
    assert.deepEqual(
      mixed.map((s) => [s.sandboxID, s.state, s.metadata["app name"]]),
      [[web[2], "paused", "web&co"]],
    );

    const other = await h.team(5);
    await h.create({}, other.key);
    assert.equal((await walk(key, "limit=100")).length, 7, "another team's sandboxes are not listed");

    const refusals: [string, string][] = [
      ["state=stopped", "unknown state 'stopped' (running or paused)"],
      ["order=sideways", "order must be asc or desc"],
      ["nextToken=bm90LWEtdG9rZW4", "nextToken is not one this api issued"],
      ["startedAfter=yesterday", "startedAfter must be an RFC 3339 time"],
    ];
    for (const [q, message] of refusals) {
      const res = await h.request("GET", `/v2/sandboxes?${q}`, { key });
      assert.equal(res.statusCode, 400, q);
      assert.deepEqual(res.json(), { code: 400, message, error_code: "invalid_argument" });
    }
  });
});
