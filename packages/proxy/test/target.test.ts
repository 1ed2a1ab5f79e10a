import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { isSandboxRequest, parseSandboxTarget } from "../src/index.js";
import { isInternalEnvdPath } from "../src/internal-routes.js";

const ID = "abc123def456ghi789jk";

type Case = [name: string, headers: IncomingHttpHeaders, domain: string | undefined, want: unknown];

const cases: Case[] = [
  ["headers", { host: "gw:3002", "e2b-sandbox-id": ID, "e2b-sandbox-port": "49983" }, undefined, { sandboxId: ID, port: 49983 }],
  ["headers win over host", { host: `8080-other.cove.test`, "e2b-sandbox-id": ID, "e2b-sandbox-port": "49999" }, "cove.test", { sandboxId: ID, port: 49999 }],
  ["headers trimmed", { "e2b-sandbox-id": ` ${ID} `, "e2b-sandbox-port": " 1 " }, undefined, { sandboxId: ID, port: 1 }],
  ["id without port", { "e2b-sandbox-id": ID }, undefined, { error: "missing_port" }],
  ["port without id", { "e2b-sandbox-port": "49983" }, undefined, { error: "missing_sandbox_id" }],
  ["empty id", { "e2b-sandbox-id": "", "e2b-sandbox-port": "49983" }, undefined, { error: "missing_sandbox_id" }],
  ["port 0", { "e2b-sandbox-id": ID, "e2b-sandbox-port": "0" }, undefined, { error: "invalid_port" }],
  ["port 65536", { "e2b-sandbox-id": ID, "e2b-sandbox-port": "65536" }, undefined, { error: "invalid_port" }],
  ["port not a number", { "e2b-sandbox-id": ID, "e2b-sandbox-port": "80a" }, undefined, { error: "invalid_port" }],
  ["port negative", { "e2b-sandbox-id": ID, "e2b-sandbox-port": "-1" }, undefined, { error: "invalid_port" }],
  ["id uppercase", { "e2b-sandbox-id": "ABC", "e2b-sandbox-port": "80" }, undefined, { error: "invalid_sandbox_id" }],
  ["id with dash", { "e2b-sandbox-id": "a-b", "e2b-sandbox-port": "80" }, undefined, { error: "invalid_sandbox_id" }],
  ["id 64 chars", { "e2b-sandbox-id": "a".repeat(64), "e2b-sandbox-port": "80" }, undefined, { error: "invalid_sandbox_id" }],
  ["host with domain", { host: `49983-${ID}.cove.test` }, "cove.test", { sandboxId: ID, port: 49983 }],
  ["host with port and domain", { host: `8080-${ID}.cove.test:3002` }, "cove.test:3002", { sandboxId: ID, port: 8080 }],
  ["host case-insensitive, trailing dot", { host: `8080-${ID.toUpperCase()}.COVE.test.` }, "cove.test", { sandboxId: ID, port: 8080 }],
  ["host without domain check", { host: `8080-${ID}.anything.example` }, undefined, { sandboxId: ID, port: 8080 }],
  ["host wrong domain", { host: `8080-${ID}.evil.test` }, "cove.test", undefined],
  ["host two labels below domain", { host: `8080-${ID}.x.cove.test` }, "cove.test", undefined],
  ["host is the domain", { host: "cove.test" }, "cove.test", undefined],
  ["api host", { host: "api.cove.test" }, "cove.test", undefined],
  ["bare label", { host: `8080-${ID}` }, undefined, undefined],
  ["localhost", { host: "localhost:3000" }, undefined, undefined],
  ["host port 0", { host: `0-${ID}.cove.test` }, "cove.test", undefined],
  ["host port too big", { host: `70000-${ID}.cove.test` }, "cove.test", undefined],
  ["host id with dash", { host: `80-a-b.cove.test` }, "cove.test", undefined],
  ["host missing id", { host: `80-.cove.test` }, "cove.test", undefined],
  ["host missing port", { host: `-${ID}.cove.test` }, "cove.test", undefined],
  ["no host at all", {}, undefined, undefined],
];

describe("parseSandboxTarget", () => {
  for (const [name, headers, domain, want] of cases) {
    it(name, () => {
      const got = parseSandboxTarget({ headers }, domain);
      if (typeof want === "object" && want !== null && "error" in want) {
        assert.ok(got !== undefined && "error" in got, `expected error, got ${JSON.stringify(got)}`);
        assert.equal(got.error, (want as { error: string }).error);
        assert.equal(typeof got.message, "string");
      } else {
        assert.deepEqual(got, want);
      }
    });
  }

  it("explicit host input beats the Host header", () => {
    assert.deepEqual(parseSandboxTarget({ host: `80-${ID}.d.test`, headers: { host: "api.d.test" } }, "d.test"), { sandboxId: ID, port: 80 });
  });

  it("isSandboxRequest: API vs sandbox (a malformed sandbox request still belongs to the proxy)", () => {
    assert.equal(isSandboxRequest({ headers: { host: "api.d.test" } }, "d.test"), false);
    assert.equal(isSandboxRequest({ headers: { host: `80-${ID}.d.test` } }, "d.test"), true);
    assert.equal(isSandboxRequest({ headers: { host: "gw", "e2b-sandbox-id": ID } }, "d.test"), true);
  });
});

describe("isInternalEnvdPath", () => {
  const table: [string, boolean][] = [
    ["/init", true],
    ["/init?x=1", true],
    ["/init/", true],
    ["//init", true],
    ["/a/../init", true],
    ["/%69nit", true],
    ["/%2e%2e/init", true],
    ["/INIT", true],
    ["/freeze", true],
    ["/unfreeze", true],
    ["/collapse", true],
    ["/fsfreeze", true],
    ["/fsthaw", true],
    ["/upgrade", true],
    ["/%zz", true],
    ["/health", false],
    ["/files?path=/init", false],
    ["/initx", false],
    ["/process.Process/Start", false],
    ["/", false],
  ];
  for (const [path, want] of table) it(`${path} → ${want}`, () => assert.equal(isInternalEnvdPath(path), want));
});
