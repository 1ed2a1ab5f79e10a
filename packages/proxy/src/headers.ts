import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/**
 * Copies end-to-end headers. Hop-by-hop headers (RFC 9110 7.6.1) and those the Connection
 * header names are dropped; `keepUpgrade` keeps Connection/Upgrade for an upgrade handshake.
 * Content-Length is kept; Transfer-Encoding is dropped and re-applied by node per hop.
 */
export function forwardHeaders(h: IncomingHttpHeaders, keepUpgrade = false): OutgoingHttpHeaders {
  const named = new Set(
    String(h.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ""),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  if (keepUpgrade && h.upgrade !== undefined) {
    out.connection = "Upgrade";
    out.upgrade = h.upgrade;
  }
  return out;
}

/** True when the incoming request carries a chunked body that must stay chunked upstream. */
export function isChunked(h: IncomingHttpHeaders): boolean {
  return h["content-length"] === undefined && /\bchunked\b/i.test(String(h["transfer-encoding"] ?? ""));
}
