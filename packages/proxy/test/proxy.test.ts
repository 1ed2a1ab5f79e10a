import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { once } from "node:events";
import type { Route, RouteResolver } from "../src/index.js";
import { serveProxy, type ServedProxy } from "./helpers/serve.js";

/** A RouteResolver over a Map keyed by `${id}:${port}`. */
class MapResolver implements RouteResolver {
  readonly routes = new Map<string, Route>();
  set(id: string, port: number, route: Route): void {
    this.routes.set(`${id}:${port}`, route);
  }
  async resolve(id: string, port: number): Promise<Route | undefined> {
    return this.routes.get(`${id}:${port}`);
  }
}

const ID = "sbx1";
const DOMAIN = "cove.test";

function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, opts: http.RequestOptions, body?: string | Buffer): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, agent: false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const envdHeaders = (port = 49983) => ({ "e2b-sandbox-id": ID, "e2b-sandbox-port": String(port) });

describe("proxy", () => {
  const resolver = new MapResolver();
  let upstream: http.Server;
  let proxy: ServedProxy;
  let pport: number;
  let releaseSlow: (() => void) | undefined;
  let resumed = 0;

  before(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url === "/chunks") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first;");
        releaseSlow = () => res.end("second");
        return;
      }
      if (req.url === "/upload") {
        let n = 0;
        req.on("data", (c: Buffer) => (n += c.length));
        req.on("end", () => res.end(JSON.stringify({ n, te: req.headers["transfer-encoding"] ?? null, cl: req.headers["content-length"] ?? null })));
        return;
      }
      if (req.url === "/slow") {
        setTimeout(() => res.end("done"), 200);
        return;
      }
      res.setHeader("x-upstream", "yes");
      res.setHeader("connection", "keep-alive, x-hop");
      res.setHeader("x-hop", "secret");
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    });
    upstream.on("upgrade", (_req, socket, head) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Up: 1\r\n\r\n");
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    const uport = await listen(upstream);
    const closed = net.createServer();
    const cport = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));

    resolver.set(ID, 49983, { address: `127.0.0.1:${uport}`, state: "running" });
    resolver.set(ID, 8080, { address: `127.0.0.1:${uport}`, state: "running" });
    resolver.set(ID, 9999, { address: `127.0.0.1:${cport}`, state: "running" });
    resolver.set("paused1", 49983, { address: `127.0.0.1:${uport}`, state: "paused" });
    resolver.set("waking", 49983, { address: `127.0.0.1:${uport}`, state: "paused" });
    resolver.set("private1", 49983, { address: `127.0.0.1:${uport}`, state: "running", trafficAccessToken: "tok-1" });
    resolver.set("private1", 8080, { address: `127.0.0.1:${uport}`, state: "running", trafficAccessToken: "tok-1" });

    proxy = await serveProxy({
      resolver,
      domain: DOMAIN,
      graceMs: 2000,
      onPaused: async (id) => {
        if (id !== "waking") return false;
        resumed++;
        resolver.set("waking", 49983, { address: `127.0.0.1:${uport}`, state: "running" });
        return true;
      },
    });
    pport = proxy.port;
  });

  after(async () => {
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it("routes by headers, preserving method, path, query and headers; drops hop-by-hop", async () => {
    const r = await request(pport, {
      method: "PUT",
      path: "/a/b?x=1&y=2",
      headers: { ...envdHeaders(), "x-custom": "v", connection: "keep-alive, x-drop", "x-drop": "1" },
    });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, "PUT");
    assert.equal(seen.url, "/a/b?x=1&y=2");
    assert.equal(seen.headers["x-custom"], "v");
    assert.equal(seen.headers["e2b-sandbox-id"], ID);
    assert.equal(seen.headers["x-drop"], undefined);
    assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(r.headers["x-upstream"], "yes");
    assert.equal(r.headers["x-hop"], undefined);
  });

  it("routes by host", async () => {
    const r = await request(pport, { path: "/h", headers: { host: `8080-${ID}.${DOMAIN}` } });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { url: string }).url, "/h");
  });

  it("streams a response written in chunks incrementally", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: pport, path: "/chunks", headers: envdHeaders(), agent: false }, resolve).on("error", reject);
    });
    assert.equal(res.statusCode, 200);
    const [first] = (await once(res, "data")) as [Buffer];
    assert.equal(first.toString(), "first;");
    assert.ok(releaseSlow, "upstream still holds the rest");
    releaseSlow();
    let rest = "";
    for await (const c of res) rest += String(c);
    assert.equal(rest, "second");
  });

  it("streams a large chunked upload, and keeps Content-Length uploads as such", async () => {
    const total = 32 * 1024 * 1024;
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: pport, method: "POST", path: "/upload", headers: envdHeaders(), agent: false }, (res) => {
        let b = "";
        res.on("data", (c) => (b += String(c)));
        res.on("end", () => resolve(b));
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(1024 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    assert.deepEqual(JSON.parse(chunked), { n: total, te: "chunked", cl: null });
    const fixed = await request(pport, { method: "POST", path: "/upload", headers: { ...envdHeaders(), "content-length": "5" } }, "hello");
    assert.deepEqual(JSON.parse(fixed.body), { n: 5, te: null, cl: "5" });
  });

  it("502 JSON for an unknown sandbox", async () => {
    const r = await request(pport, { path: "/health", headers: { "e2b-sandbox-id": "nope", "e2b-sandbox-port": "49983" } });
    assert.equal(r.status, 502);
    assert.match(String(r.headers["content-type"]), /application\/json/);
    assert.deepEqual(JSON.parse(r.body), { sandboxId: "nope", message: "The sandbox was not found", code: 502 });
  });

  it("502 JSON when the port is not open", async () => {
    const r = await request(pport, { path: "/", headers: envdHeaders(9999) });
    assert.equal(r.status, 502);
    assert.deepEqual(JSON.parse(r.body), { sandboxId: ID, message: "The sandbox is running but port is not open", port: 9999, code: 502 });
  });

  it("400 for half-specified headers; 404 for a non-sandbox request", async () => {
    const r = await request(pport, { path: "/", headers: { "e2b-sandbox-id": ID } });
    assert.equal(r.status, 400);
    assert.equal((JSON.parse(r.body) as { code: number }).code, 400);
    const n = await request(pport, { path: "/", headers: { host: `api.${DOMAIN}` } });
    assert.equal(n.status, 404);
  });

  it("refuses envd internal routes on 49983 but forwards /health and the same path on other ports", async () => {
    for (const path of ["/init", "//init", "/%69nit", "/freeze"]) {
      const r = await request(pport, { method: "POST", path, headers: envdHeaders() }, "{}");
      assert.equal(r.status, 404, path);
    }
    assert.equal((await request(pport, { path: "/health", headers: envdHeaders() })).status, 200);
    assert.equal((await request(pport, { path: "/init", headers: envdHeaders(8080) })).status, 200);
  });

  it("paused: 502 without resume; onPaused=true resolves again and forwards", async () => {
    const p = await request(pport, { path: "/", headers: { "e2b-sandbox-id": "paused1", "e2b-sandbox-port": "49983" } });
    assert.equal(p.status, 502);
    assert.deepEqual(JSON.parse(p.body), { sandboxId: "paused1", message: "The sandbox is paused", code: 502 });
    const w = await request(pport, { path: "/w", headers: { "e2b-sandbox-id": "waking", "e2b-sandbox-port": "49983" } });
    assert.equal(w.status, 200);
    assert.equal(resumed, 1);
  });

  it("browsers get the 502 as an HTML page, with the message escaped; others JSON", async () => {
    const r = await request(pport, {
      path: "/",
      headers: { "e2b-sandbox-id": "nope", "e2b-sandbox-port": "80", accept: "text/html,application/xhtml+xml;q=0.9" },
    });
    assert.equal(r.status, 502);
    assert.match(String(r.headers["content-type"]), /^text\/html/);
    assert.match(r.body, /<h1>The sandbox was not found<\/h1>/);
    assert.match(r.body, /<code>nope<\/code>/);
    const j = await request(pport, { path: "/", headers: { "e2b-sandbox-id": "nope", "e2b-sandbox-port": "80", accept: "*/*" } });
    assert.match(String(j.headers["content-type"]), /^application\/json/);
  });

  it("private sandbox: non-envd ports need the traffic access token; envd's port does not", async () => {
    const h = (port: number, extra: Record<string, string> = {}) => ({ "e2b-sandbox-id": "private1", "e2b-sandbox-port": String(port), ...extra });
    const missing = await request(pport, { path: "/", headers: h(8080) });
    assert.equal(missing.status, 403);
    assert.deepEqual(JSON.parse(missing.body), { sandboxId: "private1", message: "missing traffic access token", code: 403 });
    const wrong = await request(pport, { path: "/", headers: h(8080, { "e2b-traffic-access-token": "tok-2" }) });
    assert.equal(wrong.status, 403);
    assert.equal((JSON.parse(wrong.body) as { message: string }).message, "invalid traffic access token");
    assert.equal((await request(pport, { path: "/", headers: h(8080, { "e2b-traffic-access-token": "tok-1" }) })).status, 200);
    assert.equal((await request(pport, { path: "/health", headers: h(49983) })).status, 200);
  });

  it("WebSocket-style upgrade: echo through the proxy, including the head bytes", async () => {
    const req = http.request({
      host: "127.0.0.1",
      port: pport,
      path: "/ws",
      agent: false,
      headers: { ...envdHeaders(8080), connection: "Upgrade", upgrade: "echo" },
    });
    req.end();
    const [res, socket] = (await once(req, "upgrade")) as [http.IncomingMessage, net.Socket, Buffer];
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers["x-up"], "1");
    socket.write("ping");
    const [data] = (await once(socket, "data")) as [Buffer];
    assert.equal(data.toString(), "ping");
    socket.destroy();
  });

  it("upgrade to an unknown sandbox gets the 502 JSON", async () => {
    const req = http.request({
      host: "127.0.0.1",
      port: pport,
      agent: false,
      headers: { "e2b-sandbox-id": "nope", "e2b-sandbox-port": "80", connection: "Upgrade", upgrade: "echo" },
    });
    req.end();
    const [res] = (await once(req, "response")) as [http.IncomingMessage];
    assert.equal(res.statusCode, 502);
    let b = "";
    for await (const c of res) b += String(c);
    assert.equal((JSON.parse(b) as { message: string }).message, "The sandbox was not found");
  });

  it("close() drains an in-flight request, then refuses new connections", async () => {
    const inflight = request(pport, { path: "/slow", headers: envdHeaders() });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await proxy.close();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body, "done");
    assert.ok(Date.now() - t0 >= 100, "close waited for the request");
    await assert.rejects(request(pport, { path: "/health", headers: envdHeaders() }));
  });
});
