import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeMetadataQuery, decodeNextToken, encodeNextToken } from "../src/http/e2b-shapes.js";
import { encodeOutput } from "../src/http/native-routes.js";
import { body, onlyFields, optInt, optStringMap } from "../src/http/input.js";
import { ApiError, e2bErrorBody, nativeErrorBody } from "../src/errors.js";
import type { SandboxRow } from "../src/sandboxes/store.js";

describe("E2B list query", () => {
  it("decodes the SDK's metadata encoding (after the framework's own decode)", () => {
    // What fastify hands over for the SDK's wire value metadata=user%252520id%3Da%252526b%26app%3Dx.
    assert.deepEqual(decodeMetadataQuery("user%2520id=a%2526b&app=x"), { "user id": "a&b", app: "x" });
    assert.deepEqual(decodeMetadataQuery(""), {});
    assert.deepEqual(decodeMetadataQuery("k="), { k: "" });
    // Broken escapes are taken literally rather than failing the request.
    assert.deepEqual(decodeMetadataQuery("a=%E0%A4%A"), { a: "%E0%A4%A" });
  });

  it("round-trips page tokens and rejects foreign ones", () => {
    const row = { started_at: new Date("2026-12-02T10:00:00.123Z"), sandbox_id: "abc123" } as SandboxRow;
    assert.deepEqual(decodeNextToken(encodeNextToken(row)), { startedAt: row.started_at, sandboxId: "abc123" });
    assert.equal(decodeNextToken("not-a-token"), undefined);
    assert.equal(decodeNextToken(Buffer.from("2026-12-02T10:00:00Z__../etc").toString("base64url")), undefined);
  });
});

describe("request bodies", () => {
  it("names the field it rejects", () => {
    assert.throws(() => optInt({ timeout: "soon" }, "timeout"), /timeout must be an integer/);
    assert.equal(optInt({ timeout: "30" }, "timeout"), 30);
    assert.throws(() => optStringMap({ metadata: { a: 1 } }, "metadata"), /metadata\.a must be a string/);
    assert.throws(() => body([1]), /JSON object/);
    assert.deepEqual(body(undefined), {});
    assert.throws(() => onlyFields({ timout: 5 }, ["timeout"]), /unknown field 'timout' \(expected one of: timeout\)/);
    assert.deepEqual(onlyFields({ timeout: 5 }, ["timeout", "cmd"]), { timeout: 5 });
  });
});

describe("error bodies", () => {
  it("E2B's has the numeric status as code; the native one a stable string", () => {
    const err = new ApiError("rate_limited", "slow down", { retryAfterSeconds: 1 });
    assert.equal(err.status, 429);
    assert.deepEqual(e2bErrorBody(err), { code: 429, message: "slow down", error_code: "rate_limited" });
    assert.deepEqual(nativeErrorBody(err), { error: { code: "rate_limited", message: "slow down" } });
  });
});

describe("exec output", () => {
  it("is text when it is UTF-8 and flagged base64 when not", () => {
    assert.deepEqual(encodeOutput("stdout", Buffer.from("héllo\n")), { stdout: "héllo\n" });
    assert.deepEqual(encodeOutput("stderr", Buffer.from([0xff, 0xfe])), { stderr: "//4=", stderrEncoding: "base64" });
  });
});
