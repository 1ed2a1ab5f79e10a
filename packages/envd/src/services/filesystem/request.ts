import type { HandlerContext } from "@connectrpc/connect";
import type { ConnectError } from "@connectrpc/connect";
import type { EnvdContext } from "../../context.js";
import { userFromAuthorization } from "../../context.js";
import { EnvdError, fromErrno, toConnectError } from "../../errors.js";
import { resolveSandboxPath, toHostPath } from "../../paths.js";
import type { UserFs } from "../../user-fs.js";
import type { OsUser } from "../../users.js";

/** A request path resolved for one user: as the client sees it, and on the host. */
export interface ResolvedPath {
  /** Absolute path inside the sandbox; what errors and EntryInfo.path show. */
  path: string;
  /** The same path on the host (differs only when envd serves a --root). */
  hostPath: string;
}

/** The user a filesystem request acts as (spec 2.4). */
export function requestUser(ctx: EnvdContext, handler: HandlerContext): Promise<OsUser> {
  return userFromAuthorization(ctx, handler.requestHeader.get("authorization"));
}

/** File system calls with the request user's credentials; every RPC touches files only through it. */
export async function requestFs(ctx: EnvdContext, handler: HandlerContext): Promise<UserFs> {
  return ctx.fsAs(await requestUser(ctx, handler));
}

/** Resolves `~`, relative and absolute paths for `user`; relative (and empty) paths resolve against the default workdir or home. */
export function resolvePath(ctx: EnvdContext, user: OsUser, path: string): ResolvedPath {
  // Like Go's filepath.Clean upstream: "/a/b/" names the entry "/a/b" (so a
  // trailing slash does not make lstat follow a symlink).
  const resolved = resolveSandboxPath(path, user, ctx.state.defaultWorkdir);
  const sandboxPath = resolved.length > 1 && resolved.endsWith("/") ? resolved.replace(/\/+$/, "") || "/" : resolved;
  return { path: sandboxPath, hostPath: toHostPath(ctx.config.root, sandboxPath) };
}

/**
 * Resolves a request path for the request's user and requires an existing
 * directory the user can reach: missing → not_found, unreachable →
 * permission_denied, anything else → invalid_argument.
 */
export async function resolveDirectory(ctx: EnvdContext, handler: HandlerContext, requestPath: string): Promise<ResolvedPath & { fs: UserFs }> {
  const fs = await requestFs(ctx, handler);
  const resolved = resolvePath(ctx, fs.user, requestPath);
  let isDir: boolean;
  try {
    isDir = (await fs.stat(resolved.hostPath)).kind === "directory";
  } catch (err) {
    throw fromErrno(err, resolved.path);
  }
  if (!isDir) throw new EnvdError("invalid_argument", `path '${resolved.path}' is not a directory`);
  return { ...resolved, fs };
}

/**
 * Runs a handler body and converts what it throws into a ConnectError with a
 * client-safe message; internal causes go to the log only.
 */
export async function guard<T>(ctx: EnvdContext, rpc: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw connectErrorFor(ctx, rpc, err);
  }
}

export function connectErrorFor(ctx: EnvdContext, rpc: string, err: unknown): ConnectError {
  const connectError = toConnectError(err);
  if (!(err instanceof EnvdError) || err.code === "internal") {
    ctx.log.error({ rpc, err: err instanceof EnvdError ? err.cause : err }, "filesystem rpc failed");
  }
  return connectError;
}
