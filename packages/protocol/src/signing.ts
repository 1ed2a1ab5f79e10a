import { createHash } from "node:crypto";

export type SigningOperation = "read" | "write";

export interface SignatureInput {
  /** The `path` query value exactly as sent ("" when absent). */
  path: string;
  operation: SigningOperation;
  /** The `username` query value exactly as sent ("" when absent, meaning the default user). */
  username: string;
  accessToken: string;
  /** Unix seconds; part of the signed string only when present. */
  expiration?: number | undefined;
}

/**
 * The file URL signature the SDK computes (spec 2.5), which envd checks and the gateway
 * routes by: "v1_" + unpadded standard base64 of SHA-256("path:operation:username:token[:expiration]").
 */
export function signFileAccess(input: SignatureInput): string {
  const parts = [input.path, input.operation, input.username, input.accessToken];
  if (input.expiration !== undefined) parts.push(String(input.expiration));
  const digest = createHash("sha256").update(parts.join(":"), "utf8").digest("base64");
  return `v1_${digest.replace(/=+$/, "")}`;
}
