import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Readable } from "node:stream";

/** Where COPY files go: the node that builds (it keeps them by hash until a build copies them). */
export interface BuildFilesGateway {
  has(filesHash: string): Promise<boolean>;
  put(filesHash: string, body: Readable): Promise<void>;
}

/** How long an upload link from `GET /templates/{id}/files/{hash}` stays valid. */
const LINK_TTL_MS = 3_600_000;

/**
 * Upload links the SDK PUTs without its API key (spec 3.5): the path names the template and the
 * hash, the query carries an expiry and an HMAC of the three under a key the api makes at start
 * (so a restart voids links, which the SDK asks for again on its next build).
 */
export function createUploadLinks(now: () => number = Date.now) {
  const key = randomBytes(32);
  const sign = (templateID: string, hash: string, expires: number) =>
    createHmac("sha256", key).update(`${templateID}\n${hash}\n${expires}`).digest("base64url");
  return {
    path(templateID: string, hash: string): string {
      const expires = now() + LINK_TTL_MS;
      return `/build-files/${encodeURIComponent(templateID)}/${hash}?expires=${expires}&signature=${sign(templateID, hash, expires)}`;
    },
    verify(templateID: string, hash: string, expires: string | undefined, signature: string | undefined): boolean {
      const when = Number(expires);
      if (!Number.isSafeInteger(when) || when < now() || typeof signature !== "string") return false;
      const want = Buffer.from(sign(templateID, hash, when));
      const got = Buffer.from(signature);
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}

export type UploadLinks = ReturnType<typeof createUploadLinks>;
