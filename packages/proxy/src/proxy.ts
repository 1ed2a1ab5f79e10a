import { timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { silentLogger, type Logger } from "./logger.js";
import { isTargetError, parseSandboxTarget, type SandboxTarget } from "./target.js";
import { ENVD_PORT } from "@cove/protocol/envd";
import { isInternalEnvdPath } from "./internal-routes.js";
import { forwardHeaders, isChunked } from "./headers.js";
import * as replies from "./errors.js";
import type { ProxyReply } from "./errors.js";

/** A route to one sandbox port: `address` is host:port reachable from the proxy. */
export interface Route {
  address: string;
  /** Lowercase sandbox state, e.g. "running", "paused". Only "running" is forwarded to. */
  state: string;
  /**
   * Set when the sandbox is not public: requests to ports other than envd's must carry it
   * in `E2B-Traffic-Access-Token` (spec 2.3). envd has its own token.
   */
  trafficAccessToken?: string;
}

export interface RouteResolver {
  /** `undefined` when the sandbox is unknown. Throwing means the lookup itself failed. */
  resolve(sandboxId: string, port: number): Promise<Route | undefined>;
}

export interface ProxyOptions {
  resolver: RouteResolver;
  logger?: Logger;
  /** Sandbox domain for host routing (`{port}-{id}.{domain}`); see parseSandboxTarget. */
  domain?: string;
  /**
   * Called when the route says "paused". Return true once the sandbox is running again
   * (auto-resume); the route is then resolved once more. Without it, paused ⇒ 502.
   */
  onPaused?: (sandboxId: string) => Promise<boolean>;
  /** Agent for upstream HTTP/1.1; default a keep-alive agent owned by the proxy. */
  agent?: http.Agent;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Destroys the proxy's own keep-alive agent (not one passed in). */
  close(): void;
}

export const TRAFFIC_TOKEN_HEADER = "e2b-traffic-access-token";

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

type Lookup = { ok: true; target: SandboxTarget; address: string } | { ok: false; reply: ProxyReply };

export function createProxy(options: ProxyOptions): Proxy {
  const log = options.logger ?? silentLogger;
  const ownAgent = options.agent === undefined;
  const agent = options.agent ?? new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });

  async function lookup(req: IncomingMessage): Promise<Lookup> {
    const parsed = parseSandboxTarget({ headers: req.headers }, options.domain);
    if (parsed === undefined) return { ok: false, reply: replies.notSandbox() };
    if (isTargetError(parsed)) return { ok: false, reply: replies.badTarget(parsed.message) };
    const { sandboxId, port } = parsed;
    if (port === ENVD_PORT && isInternalEnvdPath(req.url ?? "/")) {
      log.warn({ sandboxId, path: req.url }, "refused internal envd route");
      return { ok: false, reply: replies.internalRoute() };
    }
    try {
      let route = await options.resolver.resolve(sandboxId, port);
      if (route?.state === "paused" && options.onPaused !== undefined && (await options.onPaused(sandboxId))) {
        route = await options.resolver.resolve(sandboxId, port);
      }
      if (route === undefined) return { ok: false, reply: replies.notFound(sandboxId) };
      if (route.state === "paused") return { ok: false, reply: replies.paused(sandboxId) };
      if (route.state !== "running") return { ok: false, reply: replies.notFound(sandboxId) };
      if (port !== ENVD_PORT && route.trafficAccessToken !== undefined) {
        const sent = req.headers[TRAFFIC_TOKEN_HEADER];
        if (typeof sent !== "string" || sent === "") return { ok: false, reply: replies.trafficToken(sandboxId, "missing") };
        if (!sameToken(sent, route.trafficAccessToken)) return { ok: false, reply: replies.trafficToken(sandboxId, "invalid") };
      }
      return { ok: true, target: parsed, address: route.address };
    } catch (err) {
      log.error({ sandboxId, port, err }, "route lookup failed");
      return { ok: false, reply: replies.resolverFailed(sandboxId) };
    }
  }

  function upstreamError(target: SandboxTarget, err: NodeJS.ErrnoException): ProxyReply {
    return err.code === "ECONNREFUSED" ? replies.portClosed(target.sandboxId, target.port) : replies.upstreamFailed(target.sandboxId, target.port);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    lookup(req).then(
      (l) => {
        if (!l.ok) {
          // Unread request bodies are discarded so the client connection stays usable.
          req.resume();
          replies.sendReply(res, l.reply, req.headers.accept);
          return;
        }
        try {
          forward(req, res, l.target, l.address);
        } catch (err) {
          // A request Node's parser took may still be one http.request refuses; never let it escape.
          log.warn({ sandboxId: l.target.sandboxId, err }, "could not forward");
          req.resume();
          replies.sendReply(res, replies.upstreamFailed(l.target.sandboxId, l.target.port), req.headers.accept);
        }
      },
      (err: unknown) => {
        log.error({ err }, "proxy failed");
        replies.sendReply(res, replies.upstreamFailed("", 0), req.headers.accept);
      },
    );
  }

  function forward(req: IncomingMessage, res: ServerResponse, target: SandboxTarget, address: string): void {
    const { hostname, port } = splitAddress(address);
    const headers = forwardHeaders(req.headers);
    if (isChunked(req.headers)) headers["transfer-encoding"] = "chunked";
    appendForwardedFor(headers, req);
    const up = http.request({ host: hostname, port, method: req.method, path: req.url, headers, agent });
    up.on("response", (upRes) => {
      // The upstream is code in the sandbox: Node's client parser accepts status lines and
      // headers (control characters) that writeHead refuses by throwing, which here would end
      // the process. Such a response is a failed upstream.
      try {
        res.writeHead(upRes.statusCode ?? 502, validReason(upRes.statusMessage), forwardHeaders(upRes.headers));
      } catch (err) {
        log.debug({ sandboxId: target.sandboxId, port: target.port, err: (err as Error).message }, "upstream response refused");
        upRes.destroy();
        replies.sendReply(res, replies.upstreamFailed(target.sandboxId, target.port), req.headers.accept);
        return;
      }
      // Streams the body as it arrives; pipe applies backpressure both ways.
      res.flushHeaders();
      upRes.pipe(res);
      upRes.on("error", () => res.destroy());
      upRes.on("aborted", () => res.destroy());
    });
    up.on("error", (err: NodeJS.ErrnoException) => {
      log.debug({ sandboxId: target.sandboxId, port: target.port, err: err.message }, "upstream error");
      if (res.headersSent) res.destroy();
      else replies.sendReply(res, upstreamError(target, err), req.headers.accept);
    });
    // The client going away aborts the upstream exchange too.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    lookup(req).then(
      (l) => {
        if (!l.ok) return replies.sendReplyOnSocket(socket, l.reply);
        try {
          tunnel(req, socket, head, l.target, l.address);
        } catch (err) {
          log.warn({ sandboxId: l.target.sandboxId, err }, "could not tunnel");
          replies.sendReplyOnSocket(socket, replies.upstreamFailed(l.target.sandboxId, l.target.port));
        }
      },
      () => replies.sendReplyOnSocket(socket, replies.upstreamFailed("", 0)),
    );
  }

  function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, target: SandboxTarget, address: string): void {
    const { hostname, port } = splitAddress(address);
    const headers = forwardHeaders(req.headers, true);
    appendForwardedFor(headers, req);
    // Upgraded connections leave the pool anyway; a dedicated socket keeps the agent clean.
    const up = http.request({ host: hostname, port, method: req.method, path: req.url, headers, agent: false });
    up.on("upgrade", (upRes, upSocket, upHead) => {
      socket.write(statusLine(upRes) + rawHeaderBlock(upRes.rawHeaders));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.on("error", () => socket.destroy());
      socket.on("error", () => upSocket.destroy());
      upSocket.on("close", () => socket.destroy());
      socket.on("close", () => upSocket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.on("response", (upRes) => {
      // The upstream declined the upgrade: relay its answer, delimited by closing the socket.
      const h = forwardHeaders(upRes.headers);
      delete h["content-length"];
      const lines = Object.entries(h).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${String(v)}`]));
      socket.write(`${statusLine(upRes) + [...lines, "connection: close"].join("\r\n")}\r\n\r\n`);
      upRes.pipe(socket);
    });
    up.on("error", (err: NodeJS.ErrnoException) => replies.sendReplyOnSocket(socket, upstreamError(target, err)));
    socket.on("close", () => up.destroy());
    up.end();
  }

  return {
    handle,
    handleUpgrade,
    close() {
      if (ownAgent) agent.destroy();
    },
  };
}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode ?? 502} ${validReason(res.statusMessage) ?? ""}\r\n`;
}

/** The upstream's reason phrase when it is one writeHead accepts (RFC 9112 reason-phrase), else Node's default. */
function validReason(reason: string | undefined): string | undefined {
  return reason !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(reason) ? reason : undefined;
}

function rawHeaderBlock(raw: string[]): string {
  let s = "";
  for (let i = 0; i + 1 < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${s}\r\n`;
}

function splitAddress(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i);
  return { hostname: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(i + 1)) };
}

function appendForwardedFor(headers: http.OutgoingHttpHeaders, req: IncomingMessage): void {
  const ip = req.socket.remoteAddress;
  if (ip === undefined) return;
  const prev = headers["x-forwarded-for"];
  headers["x-forwarded-for"] = prev === undefined ? ip : `${String(prev)}, ${ip}`;
}
