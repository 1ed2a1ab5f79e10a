// Malformed requests to the proxy, and malformed answers from the code in a sandbox: every one
// is a 4xx or a 502, and the proxy keeps serving afterwards.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { parseSandboxTarget, isTargetError } from "../src/index.js";
import { serveProxy, type ServedProxy } from "./helpers/serve.js";

const ID = "sbx1";

/** Sends raw bytes and returns the status of the first response line (0 when the connection closed without one). */
function rawRequest(port: number, bytes: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      text += d;
      // One response is all we want: stop at the end of its head plus a short body.
      if (/\r\n\r\n/.test(text)) socket.end();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" ? undefined : reject(err)));
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.end(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  });
}

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("sandbox target parsing: hostile header and host values", () => {
  it("refuses NUL, non-ASCII, huge and signed values with a short printable message", () => {
    const cases: [Record<string, string>, string][] = [
      [{ "e2b-sandbox-id": "a\0b", "e2b-sandbox-port": "80" }, "invalid_sandbox_id"],
      [{ "e2b-sandbox-id": "sbx1\u00e9", "e2b-sandbox-port": "80" }, "invalid_sandbox_id"],
      [{ "e2b-sandbox-id": "x".repeat(10_000), "e2b-sandbox-port": "80" }, "invalid_sandbox_id"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "-1" }, "invalid_port"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "0" }, "invalid_port"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "65536" }, "invalid_port"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "1e3" }, "invalid_port"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "\u0663" }, "invalid_port"],
      [{ "e2b-sandbox-id": "sbx1", "e2b-sandbox-port": "9".repeat(5000) }, "invalid_port"],
    ];
    for (const [headers, code] of cases) {
      const r = parseSandboxTarget({ headers });
      assert.ok(isTargetError(r), JSON.stringify(headers).slice(0, 80));
      assert.equal(r.error, code);
      assert.ok(r.message.length < 120, r.message);
      assert.match(r.message, /^[\x20-\x7e]*$/);
    }
    for (const host of [
      "\0",
      "8080-a\0b.cove.test",
      "99999-sbx1.cove.test",
      "8080-.cove.test",
      "-sbx1.x",
      "[::1]:80",
      "8080-sbx1",
      "x".repeat(20_000),
      ":::",
    ]) {
      assert.equal(parseSandboxTarget({ headers: { host } }, "cove.test"), undefined, host.slice(0, 40));
    }
  });
});

describe("proxy under malformed input", () => {
  let upstream: net.Server;
  let proxy: ServedProxy;
  let port: number;

  before(async () => {
    // A raw upstream: answers by path with responses Node's own server would never write.
    upstream = net.createServer((s) => {
      s.on("error", () => s.destroy());
      s.once("data", (d: Buffer) => {
        const path = d.toString("latin1").split(" ")[1] ?? "/";
        const answers: Record<string, string> = {
          "/ctl-reason": "HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok",
          "/ctl-header": "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok",
          "/bad-name": "HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok",
          "/garbage": "\0\0\0 not http at all",
          "/cut": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
        };
        s.end(answers[path] ?? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    const up = (upstream.address() as AddressInfo).port;
    proxy = await serveProxy({
      resolver: { resolve: async (id) => (id === ID ? { address: `127.0.0.1:${up}`, state: "running" } : undefined) },
      domain: "cove.test",
      graceMs: 100,
    });
    port = proxy.port;
  });
  after(async () => {
    await proxy.close();
    upstream.close();
  });

  it("answers 502 (not a crash) when the sandbox sends a response writeHead would refuse", async () => {
    const headers = { "e2b-sandbox-id": ID, "e2b-sandbox-port": "8080" };
    for (const path of ["/ctl-reason", "/ctl-header", "/bad-name", "/garbage"]) {
      const r = await get(port, path, headers);
      assert.ok(r.status === 502 || r.status === 200, `${path}: ${r.status}`);
    }
    assert.equal((await get(port, "/", headers)).status, 200, "still serving");
  });

  it("answers malformed requests with 4xx or 502 and keeps serving", async () => {
    const id = (v: string) => `GET / HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: ${v}\r\nE2b-Sandbox-Port: 8080\r\n\r\n`;
    const cases: [string, string][] = [
      ["NUL in the id", id("a\0b")],
      ["UTF-8 in the id", Buffer.from(id("sbx1\u00e9\u{1F600}"), "utf8").toString("latin1")],
      ["huge id", id("a".repeat(12_000))],
      ["id past the header limit", id("a".repeat(20_000))],
      ["bad port", "GET / HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: sbx1\r\nE2b-Sandbox-Port: 99999\r\n\r\n"],
      ["port only", "GET / HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Port: 80\r\n\r\n"],
      ["two ids", "GET / HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: sbx1\r\nE2b-Sandbox-Id: sbx2\r\nE2b-Sandbox-Port: 80\r\n\r\n"],
      ["unknown sandbox", id("nope")],
      ["odd method", `PROPFIND / HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\n\r\n`],
      ["unknown method", `FROBNICATE / HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\n\r\n`],
      ["absolute-form target", `GET http://169.254.169.254/latest HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\n\r\n`],
      ["asterisk target", `OPTIONS * HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\n\r\n`],
      ["empty host", `GET / HTTP/1.1\r\nHost: \r\n\r\n`],
      ["NUL host", `GET / HTTP/1.1\r\nHost: 8080-sb\0x1.cove.test\r\n\r\n`],
      ["huge host", `GET / HTTP/1.1\r\nHost: 8080-${"a".repeat(10_000)}.cove.test\r\n\r\n`],
      ["bad port host", `GET / HTTP/1.1\r\nHost: 0-sbx1.cove.test\r\n\r\n`],
      ["upgrade with a bad id", `GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nE2b-Sandbox-Id: A\r\nE2b-Sandbox-Port: 80\r\n\r\n`],
      ["upgrade to an unknown sandbox", `GET / HTTP/1.1\r\nHost: 80-nope.cove.test\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n`],
      ["bad chunked body", `POST / HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
      ["content-length and chunked", `POST / HTTP/1.1\r\nHost: 8080-sbx1.cove.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
      ["HTTP/0.9", `GET /\r\n\r\n`],
      ["garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
    ];
    for (const [name, bytes] of cases) {
      const r = await rawRequest(port, bytes);
      // 0: Node closed a connection it could not parse without answering; that is fine too.
      assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500) || r.status === 502 || r.status === 200, `${name}: ${r.status} ${r.text.slice(0, 120)}`);
      assert.notEqual(r.status, 500, name);
    }
    assert.equal((await get(port, "/", { "e2b-sandbox-id": ID, "e2b-sandbox-port": "8080" })).status, 200, "still serving");
  });
});
