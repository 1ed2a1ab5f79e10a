// The gateway `cove up`, `cove api` and `cove proxy` serve: routing between the api and the
// proxy on one port, and how it drains on close.
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createGateway, createProxy, type Gateway, type GatewayApi, type Proxy } from "../src/index.js";

const ID = "sbx1";
const sandbox = (port: number) => ({ "e2b-sandbox-id": ID, "e2b-sandbox-port": String(port) });

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, opts: http.RequestOptions): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, agent: false, ...opts }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** An api stand-in: `/slow` answers when the test releases it; everything else at once. */
function fakeApi() {
  let releaseSlow: (() => void) | undefined;
  let slowStarted: () => void = () => undefined;
  const started = new Promise<void>((r) => (slowStarted = r));
  const api: GatewayApi = {
    handle(req, res) {
      if (req.url === "/slow") {
        releaseSlow = () => res.end("created");
        slowStarted();
        return;
      }
      res.end(`api ${req.method} ${req.url} ${String(req.headers["e2b-sandbox-id"] ?? "-")}`);
    },
    handleUpgrade: () => false,
    findBySignedUrl: async (url) => (url.searchParams.get("signature") === "good" ? ID : undefined),
  };
  return { api, slowStarted: started, release: () => releaseSlow?.() };
}

describe("gateway", () => {
  let upstream: http.Server;
  let upstreamPort: number;
  let releaseStream: (() => void) | undefined;

  before(async () => {
    // Stands in for a sandbox: echoes, streams without end, and echoes upgraded bytes.
    upstream = http.createServer((req, res) => {
      if (req.url === "/stream") {
        res.writeHead(200).write("first;");
        releaseStream = () => res.end("rest");
        return;
      }
      res.end(`sandbox ${req.url}`);
    });
    upstream.on("upgrade", (_req, socket: net.Socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
      socket.pipe(socket);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    upstreamPort = (upstream.address() as AddressInfo).port;
  });
  after(async () => {
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  async function start(graceMs: number): Promise<{ gateway: Gateway; proxy: Proxy; port: number; fake: ReturnType<typeof fakeApi> }> {
    const fake = fakeApi();
    const proxy = createProxy({ resolver: { resolve: async (id) => (id === ID ? { address: `127.0.0.1:${upstreamPort}`, state: "running" } : undefined) } });
    const gateway = createGateway({ api: fake.api, proxy, graceMs });
    const { port } = await gateway.listen(0, "127.0.0.1");
    return { gateway, proxy, port, fake };
  }

  it("sends sandbox requests to the proxy, signed file URLs to their sandbox, the rest to the api", async () => {
    const { gateway, proxy, port } = await start(100);
    try {
      assert.equal((await request(port, { path: "/x", headers: sandbox(8080) })).body, "sandbox /x");
      assert.equal((await request(port, { path: "/v2/sandboxes" })).body, "api GET /v2/sandboxes -");
      assert.equal((await request(port, { path: "/files?path=a&signature=good" })).body, "sandbox /files?path=a&signature=good");
      assert.equal((await request(port, { path: "/files?path=a&signature=bad" })).body, "api GET /files?path=a&signature=bad -");
      // An upgrade nobody takes is refused, not left hanging.
      const req = http.request({ host: "127.0.0.1", port, agent: false, headers: { connection: "Upgrade", upgrade: "websocket" } });
      req.end();
      const [res] = (await once(req, "response")) as [http.IncomingMessage];
      assert.equal(res.statusCode, 404);
      res.resume();
    } finally {
      await gateway.close();
      proxy.close();
    }
  });

  it("close() answers an api request that outlasts the grace (a create in flight reaches its caller)", async () => {
    const { gateway, proxy, port, fake } = await start(20);
    const answer = request(port, { method: "POST", path: "/slow" });
    await fake.slowStarted;
    const closed = gateway.close();
    // Well past the grace: the request must still be open, not cut.
    await new Promise((r) => setTimeout(r, 200));
    fake.release();
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(res.body, "created");
    assert.equal(res.headers.connection, "close", "the answer ends its connection while draining");
    await closed;
    proxy.close();
    await assert.rejects(request(port, { path: "/health" }), "no new connections after close");
  });

  it("close() gives sandbox traffic the grace, then cuts streams and ends tunnels with a FIN", async () => {
    const { gateway, proxy, port } = await start(300);
    const stream = new Promise<{ body: string; aborted: boolean }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, agent: false, path: "/stream", headers: sandbox(8080) }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("error", () => undefined);
        res.on("close", () => resolve({ body, aborted: !res.complete }));
      });
      req.on("error", reject);
      req.end();
    });
    const upgrade = http.request({ host: "127.0.0.1", port, agent: false, path: "/ws", headers: { ...sandbox(8080), connection: "Upgrade", upgrade: "echo" } });
    upgrade.end();
    const [, tunnel] = (await once(upgrade, "upgrade")) as [http.IncomingMessage, net.Socket, Buffer];
    tunnel.write("ping");
    assert.equal(String(((await once(tunnel, "data")) as [Buffer])[0]), "ping");
    let reset = false;
    tunnel.on("error", () => (reset = true));
    const ended = once(tunnel, "end");

    const closing = gateway.close();
    // Within the grace the tunnel still carries bytes both ways.
    tunnel.write("during");
    assert.equal(String(((await once(tunnel, "data")) as [Buffer])[0]), "during");
    await closing;
    await ended;
    assert.equal(reset, false, "the tunnel ended with a FIN, not a reset");
    tunnel.destroy();
    const cut = await stream;
    assert.equal(cut.body, "first;");
    assert.equal(cut.aborted, true, "the endless stream was cut");
    releaseStream?.();
    proxy.close();
  });
});
