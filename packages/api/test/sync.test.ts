// The event sync and the reconciler against a real node (crun sandboxes), records in PGlite.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import { pino } from "pino";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { skipReason, startTestNode, type TestNode } from "../../node/test/helpers/node-fixture.js";
import { createDatabase, createSandboxService, createSandboxStore, createTeam, migrate, type Database, type Team } from "../src/index.js";
import { startSync } from "../src/sandboxes/sync.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const logger = pino({ level: "silent" });
const params = {
  templateId: "base",
  timeoutSeconds: 300,
  metadata: {},
  envVars: {},
  allowInternetAccess: false,
  autoPause: false,
  autoResume: false,
  secure: true,
  allowPublicTraffic: true,
};

describe("event sync and reconciler (real node)", { skip: skipReason() }, () => {
  let tn: TestNode;
  let dir: string;
  let db: Kysely<Database>;
  let node: NodeClient;
  let team: Team;
  const service = () => createSandboxService({ store: createSandboxStore(db), node, logger, defaultSandboxLimit: 10, maxTimeoutSeconds: 3600 });
  const events = (id: string) => db.selectFrom("sandbox_events").select(["type", "reason"]).where("sandbox_id", "=", id).orderBy("id").execute();
  const stateOf = async (id: string) => (await db.selectFrom("sandboxes").select("state").where("sandbox_id", "=", id).executeTakeFirst())?.state;

  before(async () => {
    tn = await startTestNode(suiteNetwork("api/sync"));
    dir = mkdtempSync("/tmp/cove-api-sync-");
    db = createDatabase({ dataDir: dir });
    await migrate(db);
    node = createNodeClient({ baseUrl: `http://${tn.node.address.host}:${tn.node.address.port}`, secret: tn.node.secret });
    team = (await createTeam(db, { name: "sync" })).team;
  });

  after(async () => {
    await db.destroy();
    await tn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reconciles both ways: records the node lost are closed, sandboxes without records are killed", async () => {
    const svc = service();
    const kept = await svc.create(team, params);
    const lost = await svc.create(team, params);
    // While no sync runs: one sandbox dies behind the api's back, one appears without a record.
    await node.killSandbox({ sandboxId: lost.sandbox_id });
    const orphan = (await node.createSandbox({ templateId: "base", timeoutMs: 300_000 })).sandbox!;

    const sync = startSync({ node, service: svc, store: createSandboxStore(db), logger, orphanGraceMs: 0, reconcileEveryMs: 3_600_000 });
    try {
      await sync.ready;
      assert.equal(await stateOf(lost.sandbox_id), "killed");
      assert.deepEqual((await events(lost.sandbox_id)).at(-1), { type: "killed", reason: "error" });
      const live = (await node.listSandboxes({})).sandboxes.map((s) => s.sandboxId);
      assert.ok(!live.includes(orphan.sandboxId), "the orphan was killed");
      assert.ok(live.includes(kept.sandbox_id), "the recorded sandbox is untouched");
      assert.equal(await stateOf(kept.sandbox_id), "running");
      // A second pass finds nothing to do.
      assert.deepEqual(await sync.reconcile(), { lost: [], orphans: [], corrected: [] });
    } finally {
      await sync.stop();
    }
    await svc.kill(team, kept.sandbox_id);
  });

  it("follows the node's events: a pause, resume and timeout the api did not cause land in the records", async () => {
    const svc = service();
    const sync = startSync({ node, service: svc, store: createSandboxStore(db), logger, reconcileEveryMs: 3_600_000 });
    try {
      await sync.ready;
      const row = await svc.create(team, params);
      await node.pauseSandbox({ sandboxId: row.sandbox_id });
      for (let i = 0; i < 50 && (await stateOf(row.sandbox_id)) !== "paused"; i++) await sleep(50);
      assert.equal(await stateOf(row.sandbox_id), "paused");
      await node.resumeSandbox({ sandboxId: row.sandbox_id });
      for (let i = 0; i < 50 && (await stateOf(row.sandbox_id)) !== "running"; i++) await sleep(50);
      assert.equal(await stateOf(row.sandbox_id), "running");
      await node.setTimeout({ sandboxId: row.sandbox_id, timeoutMs: 1 });
      for (let i = 0; i < 100 && (await stateOf(row.sandbox_id)) !== "killed"; i++) await sleep(50);
      assert.equal(await stateOf(row.sandbox_id), "killed");
      assert.deepEqual(await events(row.sandbox_id), [
        { type: "created", reason: null },
        { type: "paused", reason: "request" },
        { type: "resumed", reason: "request" },
        { type: "killed", reason: "timeout" },
      ]);
    } finally {
      await sync.stop();
    }
  });
});
