// The node's template build records on a temp dir: a build's log and end are kept, read a page at
// a time, only by their team (or an operator); a restart fails builds it interrupted; old ones go.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { createBuildRecords } from "../src/builds/build-records.js";

describe("template build records", () => {
  const dir = mkdtempSync("/tmp/cove-build-records-");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the log and the end; pages it; a team sees only its own builds", async () => {
    const records = await createBuildRecords(dir);
    const run = await records.begin({ buildId: "b1", template: "app", tags: ["default"], owner: "team-a" });
    for (let i = 0; i < 5; i++) run.log({ timestamp: new Date().toISOString(), level: "info", message: `line ${i}`, step: "1" });
    await run.finish({ status: "error", reason: { message: "step 1 failed", step: "1" } });
    const page = await records.get("b1", "team-a", 3, 100);
    assert.deepEqual(
      page.logs.map((l) => l.message),
      ["line 3", "line 4"],
    );
    assert.equal(page.total, 5);
    assert.equal(page.record.status, "error");
    assert.deepEqual(page.record.reason, { message: "step 1 failed", step: "1" });
    await assert.rejects(records.get("b1", "team-b", 0, 10), /not found/);
    assert.equal((await records.get("b1", undefined, 0, 10)).logs.length, 5, "an operator sees every build");
    await assert.rejects(records.begin({ buildId: "b1", template: "app", tags: [] }), /exists/);
    await assert.rejects(records.get("../x", undefined, 0, 1), /invalid build id/);
  });

  it("after a restart, a build that was running has failed; finished ones past the window are removed", async () => {
    const before = await createBuildRecords(dir);
    await before.begin({ buildId: "b2", template: "app", tags: ["v2"] });
    const after = await createBuildRecords(dir);
    await after.recover(60_000);
    const b2 = await after.get("b2", undefined, 0, 1);
    assert.equal(b2.record.status, "error");
    assert.match(b2.record.reason?.message ?? "", /node restarted/);
    assert.deepEqual((await after.list({ template: "app" })).map((r) => r.buildId).sort(), ["b1", "b2"]);
    assert.deepEqual(
      (await after.list({ owner: "team-a" })).map((r) => r.buildId),
      ["b1"],
    );
    await after.recover(60_000, Date.now() + 120_000);
    assert.deepEqual(readdirSync(dir), []);
  });
});
