import { timingSafeEqual } from "node:crypto";
import type { EnvdState } from "./state.js";

/** Routes that check access themselves (signatures, first-time /init) or are always open. */
const selfCheckedRoutes = new Set(["GET /health", "GET /files", "POST /files", "POST /init"]);

export const UNAUTHORIZED_MESSAGE = "unauthorized access, please provide a valid access token or method signing if supported";

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The access-token gate (spec 2.2): with a token set, every request outside the
 * self-checked routes must carry it in X-Access-Token. Without a token envd is open.
 */
export function isAuthorized(state: EnvdState, method: string, path: string, tokenHeader: string | undefined): boolean {
  if (state.accessToken === undefined) return true;
  if (selfCheckedRoutes.has(`${method} ${path}`)) return true;
  return tokenHeader !== undefined && safeEqual(tokenHeader, state.accessToken);
}
