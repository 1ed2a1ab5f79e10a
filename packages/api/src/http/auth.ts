import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { authenticate, type Team } from "../auth/keys.js";
import type { Database } from "../db/schema.js";
import { ApiError } from "../errors.js";

declare module "fastify" {
  interface FastifyRequest {
    team?: Team;
  }
}

/** The caller's team from `X-API-Key` (SDK) or `Authorization: Bearer` (CLI access token, or an API key). */
export async function resolveTeam(db: Kysely<Database>, headers: FastifyRequest["headers"]): Promise<Team> {
  const key = headers["x-api-key"];
  if (typeof key === "string" && key !== "") {
    const team = await authenticate(db, key, "api_key");
    if (team === undefined) throw new ApiError("unauthenticated", "invalid API key");
    return team;
  }
  const auth = headers.authorization;
  if (typeof auth === "string" && auth.toLowerCase().startsWith("bearer ")) {
    const token = auth.slice(7).trim();
    const team = (await authenticate(db, token, "access_token")) ?? (await authenticate(db, token, "api_key"));
    if (team === undefined) throw new ApiError("unauthenticated", "invalid access token");
    return team;
  }
  throw new ApiError("unauthenticated", "missing API key: send X-API-Key or Authorization: Bearer");
}

export function requireTeam(req: FastifyRequest): Team {
  if (req.team === undefined) throw new ApiError("unauthenticated", "not authenticated");
  return req.team;
}

/** An onRequest hook for an authenticated scope. */
export function authHook(db: Kysely<Database>) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    req.team = await resolveTeam(db, req.headers);
  };
}
