import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Creates a team and its first API key (`e2b_` + 40 hex); only the hash is stored. */
export async function createTeamWithKey(db: Kysely<Database>, name: string): Promise<{ teamId: string; apiKey: string }> {
  const teamId = randomUUID();
  const apiKey = `e2b_${randomBytes(20).toString("hex")}`;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto("teams").values({ id: teamId, name }).execute();
    await trx
      .insertInto("api_keys")
      .values({ id: randomUUID(), team_id: teamId, name: "default", hash: hashKey(apiKey), prefix: apiKey.slice(0, 10), revoked_at: null })
      .execute();
  });
  return { teamId, apiKey };
}

/** The team owning an unrevoked key, or undefined. */
export async function findTeamByKey(db: Kysely<Database>, apiKey: string): Promise<{ teamId: string } | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .select("team_id")
    .where("hash", "=", hashKey(apiKey))
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return row === undefined ? undefined : { teamId: row.team_id };
}
