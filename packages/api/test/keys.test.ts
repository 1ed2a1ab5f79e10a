import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { Kysely } from "kysely";
import { createDatabase, createTeamWithKey, findTeamByKey, migrate, type Database } from "../src/index.js";

const targets: { name: string; url?: string }[] = [{ name: "pglite" }];
if (process.env.COVE_TEST_DATABASE_URL) targets.push({ name: "postgres", url: process.env.COVE_TEST_DATABASE_URL });

for (const target of targets) {
  describe(`teams and keys (${target.name})`, () => {
    let db: Kysely<Database>;
    let dir: string | undefined;
    before(async () => {
      if (target.url !== undefined) db = createDatabase({ url: target.url });
      else {
        dir = mkdtempSync("/tmp/cove-api-db-");
        db = createDatabase({ dataDir: dir });
      }
      await migrate(db);
      await migrate(db); // idempotent
    });
    after(async () => {
      await db.destroy();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("creates a team with an e2b_ key and finds it by the key only", async () => {
      const { teamId, apiKey } = await createTeamWithKey(db, "a");
      assert.match(apiKey, /^e2b_[0-9a-f]{40}$/);
      assert.deepEqual(await findTeamByKey(db, apiKey), { teamId });
      assert.equal(await findTeamByKey(db, `${apiKey}x`), undefined);
      const stored = await db.selectFrom("api_keys").selectAll().where("team_id", "=", teamId).execute();
      assert.equal(stored.length, 1);
      assert.notEqual(stored[0]?.hash, apiKey);
    });

    it("ignores revoked keys", async () => {
      const { teamId, apiKey } = await createTeamWithKey(db, "b");
      await db.updateTable("api_keys").set({ revoked_at: new Date() }).where("team_id", "=", teamId).execute();
      assert.equal(await findTeamByKey(db, apiKey), undefined);
    });
  });
}
