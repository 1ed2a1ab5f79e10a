import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** A JSON answer the proxy gives itself (bodies follow E2B's edge proxy, spec 1.3). */
export interface ProxyReply {
  status: number;
  body: Record<string, unknown>;
}

export const notFound = (sandboxId: string): ProxyReply => ({
  status: 502,
  body: { sandboxId, message: "The sandbox was not found", code: 502 },
});

export const portClosed = (sandboxId: string, port: number): ProxyReply => ({
  status: 502,
  body: { sandboxId, message: "The sandbox is running but port is not open", port, code: 502 },
});

export const paused = (sandboxId: string): ProxyReply => ({
  status: 502,
  body: { sandboxId, message: "The sandbox is paused", code: 502 },
});

export const upstreamFailed = (sandboxId: string, port: number): ProxyReply => ({
  status: 502,
  body: { sandboxId, message: "The sandbox did not answer", port, code: 502 },
});

export const resolverFailed = (sandboxId: string): ProxyReply => ({
  status: 503,
  body: { sandboxId, message: "The sandbox route could not be looked up", code: 503 },
});

export const trafficToken = (sandboxId: string, problem: "missing" | "invalid"): ProxyReply => ({
  status: 403,
  body: { sandboxId, message: `${problem} traffic access token`, code: 403 },
});

export const badTarget = (message: string): ProxyReply => ({ status: 400, body: { message, code: 400 } });

export const notSandbox = (): ProxyReply => ({ status: 404, body: { message: "Not a sandbox request", code: 404 } });

export const internalRoute = (): ProxyReply => ({ status: 404, body: { message: "Not found", code: 404 } });

/** Browsers (they ask for HTML first) get a page; everyone else, the SDK included, JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept?.startsWith("text/html") ?? false;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function htmlPage(reply: ProxyReply): string {
  const message = escapeHtml(String(reply.body.message ?? "Error"));
  const id = typeof reply.body.sandboxId === "string" && reply.body.sandboxId !== "" ? `<p>Sandbox <code>${escapeHtml(reply.body.sandboxId)}</code></p>` : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${reply.status} ${message}</title></head><body><h1>${message}</h1>${id}<p>Cove sandbox gateway, ${reply.status}</p></body></html>`;
}

export function sendReply(res: ServerResponse, reply: ProxyReply, accept?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = wantsHtml(accept);
  const body = html ? htmlPage(reply) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": html ? "text/html; charset=utf-8" : "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
}

/** The same answer on a raw socket (upgrade requests have no ServerResponse). */
export function sendReplyOnSocket(socket: Duplex, reply: ProxyReply): void {
  const body = JSON.stringify(reply.body);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${reply.status} ${reply.status === 502 ? "Bad Gateway" : reply.status === 503 ? "Service Unavailable" : reply.status === 404 ? "Not Found" : reply.status === 403 ? "Forbidden" : "Bad Request"}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
