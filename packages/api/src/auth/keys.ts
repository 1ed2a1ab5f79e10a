import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, KeyKind } from "../db/schema.js";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** API keys look like E2B's (`e2b_` + 40 hex) so the SDK's defaults accept them; access tokens like E2B's CLI tokens. */
function newSecret(kind: KeyKind): string {
  return `${kind === "api_key" ? "e2b_" : "sk_e2b_"}${randomBytes(20).toString("hex")}`;
}

export interface Team {
  id: string;
  name: string;
  sandboxLimit: number | null;
  isAdmin: boolean;
}

export interface KeyInfo {
  id: string;
  name: string;
  kind: KeyKind;
  /** The first characters of the secret, to tell keys apart. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedKey extends KeyInfo {
  /** The secret itself: returned once, never stored. */
  secret: string;
}

export interface NewTeam {
  name: string;
  sandboxLimit?: number | null;
  isAdmin?: boolean;
}

/** Creates a team and its first API key; only the key's hash is stored. */
export async function createTeam(db: Kysely<Database>, team: NewTeam): Promise<{ team: Team; apiKey: CreatedKey }> {
  const id = randomUUID();
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto("teams")
      .values({ id, name: team.name, sandbox_limit: team.sandboxLimit ?? null, is_admin: team.isAdmin ?? false })
      .execute();
    const apiKey = await createKey(trx, id, { name: "default", kind: "api_key" });
    return { team: { id, name: team.name, sandboxLimit: team.sandboxLimit ?? null, isAdmin: team.isAdmin ?? false }, apiKey };
  });
}

/** Kept for callers that only need the ids (tests, `cove up`'s first start). */
export async function createTeamWithKey(db: Kysely<Database>, name: string, options: Omit<NewTeam, "name"> = {}): Promise<{ teamId: string; apiKey: string }> {
  const { team, apiKey } = await createTeam(db, { name, ...options });
  return { teamId: team.id, apiKey: apiKey.secret };
}

export async function createKey(db: Kysely<Database>, teamId: string, key: { name: string; kind: KeyKind }): Promise<CreatedKey> {
  const secret = newSecret(key.kind);
  const id = randomUUID();
  const prefix = secret.slice(0, key.kind === "api_key" ? 10 : 13);
  const row = await db
    .insertInto("api_keys")
    .values({ id, team_id: teamId, name: key.name, kind: key.kind, hash: hashKey(secret), prefix, revoked_at: null })
    .returning("created_at")
    .executeTakeFirstOrThrow();
  return { id, name: key.name, kind: key.kind, prefix, createdAt: row.created_at, lastUsedAt: null, revokedAt: null, secret };
}

export async function listKeys(db: Kysely<Database>, teamId: string): Promise<KeyInfo[]> {
  const rows = await db.selectFrom("api_keys").selectAll().where("team_id", "=", teamId).orderBy("created_at", "asc").execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    prefix: r.prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }));
}

/** Revokes a key of the team: "revoked", "already" (it was revoked before) or "missing" (no such key in the team). */
export async function revokeKey(db: Kysely<Database>, teamId: string, keyId: string): Promise<"revoked" | "already" | "missing"> {
  const res = await db
    .updateTable("api_keys")
    .set({ revoked_at: new Date() })
    .where("id", "=", keyId)
    .where("team_id", "=", teamId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (res.numUpdatedRows > 0n) return "revoked";
  const row = await db.selectFrom("api_keys").select("id").where("id", "=", keyId).where("team_id", "=", teamId).executeTakeFirst();
  return row === undefined ? "missing" : "already";
}

/** The team owning an unrevoked secret of the given kind, or undefined. */
export async function authenticate(db: Kysely<Database>, secret: string, kind: KeyKind): Promise<Team | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .innerJoin("teams", "teams.id", "api_keys.team_id")
    .select(["api_keys.id as key_id", "api_keys.last_used_at", "teams.id", "teams.name", "teams.sandbox_limit", "teams.is_admin"])
    .where("api_keys.hash", "=", hashKey(secret))
    .where("api_keys.kind", "=", kind)
    .where("api_keys.revoked_at", "is", null)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  // At most one write a minute per key, off the request's path: a hint for `keys list`, not an audit log.
  const now = Date.now();
  if (row.last_used_at === null || now - row.last_used_at.getTime() > 60_000) {
    void db
      .updateTable("api_keys")
      .set({ last_used_at: new Date(now) })
      .where("id", "=", row.key_id)
      .execute()
      .catch(() => undefined);
  }
  return { id: row.id, name: row.name, sandboxLimit: row.sandbox_limit, isAdmin: row.is_admin };
}

/** The team owning an unrevoked API key, or undefined. */
export async function findTeamByKey(db: Kysely<Database>, apiKey: string): Promise<{ teamId: string } | undefined> {
  const team = await authenticate(db, apiKey, "api_key");
  return team === undefined ? undefined : { teamId: team.id };
}
