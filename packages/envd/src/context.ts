import type { Spawner } from "@cove/protocol/spawner";
import type { EnvdConfig } from "./config.js";
import type { Logger } from "./logger.js";
import type { EnvdState } from "./state.js";
import type { OsUser, UserDb } from "./users.js";
import type { UserFsFactory } from "./user-fs.js";
import { EnvdError } from "./errors.js";

/** Everything a handler needs, built once per server and passed in. */
export interface EnvdContext {
  config: EnvdConfig;
  state: EnvdState;
  users: UserDb;
  log: Logger;
  /** File system calls as a user; every file operation made for a request goes through it. */
  fsAs: UserFsFactory;
  /** Starts processes (a cove-spawn helper, started with the first one). */
  spawner: Spawner;
}

/**
 * The OS user a request acts as: `Authorization: Basic base64("name:")` when
 * present (spec 2.4), else the default user. Unknown users are unauthenticated.
 */
export async function userFromAuthorization(ctx: EnvdContext, authorization: string | null | undefined): Promise<OsUser> {
  return ctx.users.lookup(usernameFromAuthorization(authorization) ?? ctx.state.defaultUser);
}

export function usernameFromAuthorization(authorization: string | null | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Basic\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new EnvdError("invalid_argument", "authorization header must be 'Basic base64(user:)'");
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const name = colon === -1 ? decoded : decoded.slice(0, colon);
  if (!name) throw new EnvdError("invalid_argument", "authorization header names no user");
  return name;
}
