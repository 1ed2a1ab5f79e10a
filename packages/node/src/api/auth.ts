import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { NodeError } from "../errors.js";
import { toConnectError } from "./connect-error.js";
import type { NodeApiLogger } from "./types.js";

// Hashing first gives both sides the same length, so neither the comparison
// nor an early length check leaks anything about the secret.
const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  const match = header === null ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Whether an `Authorization` header carries the secret (for the node's plain HTTP routes). */
export function hasSecret(header: string | undefined, secret: string): boolean {
  const token = bearerToken(header ?? null);
  return token !== undefined && timingSafeEqual(digest(token), digest(secret));
}

/** Rejects every call that lacks `Authorization: Bearer <secret>` with `unauthenticated`. */
export function createBearerAuth(secret: string, log: NodeApiLogger): Interceptor {
  if (secret === "") throw new NodeError("invalid_argument", "the node API secret must not be empty");
  const expected = digest(secret);
  return (next) => (req) => {
    const token = bearerToken(req.header.get("authorization"));
    if (token === undefined || !timingSafeEqual(digest(token), expected)) {
      throw toConnectError(new NodeError("unauthenticated", "missing or wrong node API secret"), log, req.method.name);
    }
    return next(req);
  };
}
