import { timingSafeEqual } from "node:crypto";
import { signFileAccess } from "@cove/protocol/signing";
import type { SandboxStore } from "./store.js";

/**
 * The sandbox a signed file URL belongs to (spec 2.5). Such URLs carry no sandbox id when
 * clients use one gateway URL, but only the holder of a sandbox's envd token can sign, so
 * the one whose token reproduces the signature is the target. envd checks the signature
 * (and its expiry) again; this only routes.
 */
export async function findBySignedUrl(store: Pick<SandboxStore, "listActive">, url: URL, method: string): Promise<string | undefined> {
  const signature = url.searchParams.get("signature");
  if (!signature?.startsWith("v1_")) return undefined;
  const expirationText = url.searchParams.get("signature_expiration");
  // envd would refuse a malformed expiration anyway; it reads a well-formed one as a number.
  if (expirationText !== null && !/^-?\d+$/.test(expirationText)) return undefined;
  const signed = {
    path: url.searchParams.get("path") ?? "",
    operation: method === "GET" || method === "HEAD" ? ("read" as const) : ("write" as const),
    username: url.searchParams.get("username") ?? "",
    expiration: expirationText === null ? undefined : Number(expirationText),
  };
  const wanted = Buffer.from(signature);
  for (const row of await store.listActive()) {
    if (!row.envd_access_token) continue;
    const candidate = Buffer.from(signFileAccess({ ...signed, accessToken: row.envd_access_token }));
    if (candidate.length === wanted.length && timingSafeEqual(candidate, wanted)) return row.sandbox_id;
  }
  return undefined;
}
