import { EnvdError } from "../errors.js";

/** The only content coding envd produces or accepts, as upstream envd. */
export const SUPPORTED_ENCODINGS = ["gzip"] as const;
export type ContentCoding = (typeof SUPPORTED_ENCODINGS)[number];

interface Weighted {
  coding: string;
  q: number;
}

function parseList(header: string): Weighted[] {
  const out: Weighted[] = [];
  for (const item of header.split(",")) {
    const [name = "", ...params] = item.split(";");
    const coding = name.trim().toLowerCase();
    if (!coding) continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
      if (match) q = Number(match[1]);
    }
    out.push({ coding, q: Number.isFinite(q) ? q : 1 });
  }
  return out;
}

/**
 * Picks the response coding for GET /files from Accept-Encoding, or undefined
 * for identity. Throws unsupported_encoding (406) when the client rejects
 * identity and accepts nothing we can produce.
 *
 * Upstream envd gzips whenever gzip is acceptable. Every undici/fetch request
 * carries `accept-encoding: gzip, deflate` though, so that rule would compress
 * every plain SDK read and cap large reads at zlib speed. We compress only when
 * the client prefers gzip over every other listed coding: the SDK's
 * `gzip: true` sends exactly `Accept-Encoding: gzip`, while generic lists such
 * as `gzip, deflate` or `gzip, deflate, br` (fetch, browsers, curl) get the
 * uncompressed bytes, which RFC 9110 always permits unless identity is refused.
 */
export function chooseResponseEncoding(header: string | undefined): ContentCoding | undefined {
  if (!header?.trim()) return undefined;
  const list = parseList(header);
  const find = (coding: string) => list.find((w) => w.coding === coding);
  const star = find("*");
  const identity = find("identity");
  const identityRefused = identity ? identity.q === 0 : star !== undefined && star.q === 0;
  const gzipQ = find("gzip")?.q ?? (star && star.q > 0 ? star.q : 0);
  if (identityRefused) {
    if (gzipQ > 0) return "gzip";
    throw new EnvdError("unsupported_encoding", `no acceptable encoding in '${header}', supported: identity, gzip`);
  }
  const explicitGzip = find("gzip");
  if (!explicitGzip || explicitGzip.q === 0) return undefined;
  const rivals = list.filter((w) => w.coding !== "gzip" && w.coding !== "identity" && w.coding !== "*");
  const preferred = rivals.every((w) => w.q < explicitGzip.q) && (identity === undefined || identity.q < explicitGzip.q);
  return preferred ? "gzip" : undefined;
}

/** Validates a request Content-Encoding; undefined means the body is not encoded. */
export function requestEncoding(header: string | undefined): ContentCoding | undefined {
  if (!header?.trim()) return undefined;
  const coding = header.split(";")[0]!.trim().toLowerCase();
  if (coding === "identity") return undefined;
  if (coding === "gzip" || coding === "x-gzip") return "gzip";
  throw new EnvdError("invalid_argument", `unsupported Content-Encoding '${header}', supported: gzip`);
}
