import { safeEqual, UNAUTHORIZED_MESSAGE } from "../auth.js";
import type { EnvdContext } from "../context.js";
import { EnvdError } from "../errors.js";
import { resolveSandboxPath } from "../paths.js";
import type { OsUser } from "../users.js";
import type { HttpRequest } from "./respond.js";
import { signFileAccess, type SigningOperation } from "@cove/protocol/signing";

export interface FileRequest {
  user: OsUser;
  /** The `path` query value as sent, or undefined. */
  rawPath: string | undefined;
}

/**
 * Access and user resolution shared by GET and POST /files (spec 2.2, 2.5).
 * Without an access token envd is open. With one, a request passes when its
 * X-Access-Token matches; a present but wrong header fails even if a signature
 * is also given. Otherwise a valid, unexpired `signature` must be present.
 */
export async function authorizeFileRequest(
  ctx: EnvdContext,
  req: HttpRequest,
  url: URL,
  operation: SigningOperation,
  now: () => number = Date.now,
): Promise<FileRequest> {
  const rawPath = url.searchParams.get("path") ?? undefined;
  const rawUser = url.searchParams.get("username") ?? undefined;
  const token = ctx.state.accessToken;
  if (token !== undefined) checkAccess(req, url, token, { path: rawPath ?? "", username: rawUser ?? "", operation }, now);
  const user = await ctx.users.lookup(rawUser || ctx.state.defaultUser);
  return { user, rawPath };
}

/** Resolves a /files path like the RPC services do: ~ and relative paths against home or the default workdir. */
export function resolveFilePath(ctx: EnvdContext, user: OsUser, rawPath: string): string {
  return resolveSandboxPath(rawPath, user, ctx.state.defaultWorkdir);
}

function checkAccess(
  req: HttpRequest,
  url: URL,
  token: string,
  signed: { path: string; username: string; operation: SigningOperation },
  now: () => number,
): void {
  const header = req.headers["x-access-token"];
  const headerToken = Array.isArray(header) ? header[0] : header;
  if (headerToken) {
    if (!safeEqual(headerToken, token)) throw new EnvdError("unauthenticated", UNAUTHORIZED_MESSAGE);
    return;
  }
  const signature = url.searchParams.get("signature");
  if (!signature) throw new EnvdError("unauthenticated", UNAUTHORIZED_MESSAGE);
  const expirationText = url.searchParams.get("signature_expiration");
  let expiration: number | undefined;
  if (expirationText !== null) {
    if (!/^-?\d+$/.test(expirationText)) throw new EnvdError("invalid_argument", "signature_expiration must be an integer (unix seconds)");
    expiration = Number(expirationText);
  }
  const expected = signFileAccess({ ...signed, accessToken: token, expiration });
  if (!safeEqual(signature, expected)) throw new EnvdError("unauthenticated", "invalid signature");
  if (expiration !== undefined && expiration < Math.floor(now() / 1000)) {
    throw new EnvdError("unauthenticated", "signature is already expired");
  }
}
