// Signed file URLs (spec 2.5) name no sandbox when clients use one gateway URL: the api finds
// the sandbox whose envd token reproduces the signature. In process against the fake node.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startHarness, type Harness } from "./helpers/api-harness.js";

/** The SDK's signature, written from the spec (not from the code under test). */
function sign(path: string, operation: "read" | "write", user: string, token: string, expiration?: number): string {
  const raw = [path, operation, user, token, ...(expiration !== undefined ? [String(expiration)] : [])].join(":");
  return `v1_${createHash("sha256").update(raw, "utf8").digest("base64").replace(/=+$/, "")}`;
}

/** A URL as the SDK builds it: username, path (when non-empty), signature, expiration. */
function fileUrl(q: { path?: string; username?: string; signature: string; expiration?: number | string }): URL {
  const params = new URLSearchParams();
  if (q.username !== undefined) params.set("username", q.username);
  if (q.path) params.set("path", q.path);
  params.set("signature", q.signature);
  if (q.expiration !== undefined) params.set("signature_expiration", String(q.expiration));
  return new URL(`http://gateway/files?${params}`);
}

describe("signed file URLs (api in process, fake node)", () => {
  let h: Harness;
  const sandboxes: { id: string; token: string }[] = [];
  before(async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) {
      const res = await h.request("POST", "/v2/sandboxes", { body: { templateID: "base" } });
      const b = res.json() as { sandboxID: string; envdAccessToken: string };
      sandboxes.push({ id: b.sandboxID, token: b.envdAccessToken });
    }
  });
  after(() => h.close());

  const find = (url: URL, method: string) => h.api.findBySignedUrl(url, method);
  const at = (i: number) => sandboxes[i]!;
  const path = "/home/user/a b+c.txt";

  it("routes a download and an upload URL to the sandbox whose token signed it", async () => {
    const [a, b, c] = [at(0), at(1), at(2)];
    assert.equal(await find(fileUrl({ path, signature: sign(path, "read", "", a.token) }), "GET"), a.id);
    assert.equal(await find(fileUrl({ path, username: "root", signature: sign(path, "read", "root", b.token) }), "HEAD"), b.id);
    // An upload without a path signs the empty path.
    assert.equal(await find(fileUrl({ username: "user", signature: sign("", "write", "user", c.token) }), "POST"), c.id);
    const later = Math.floor(Date.now() / 1000) + 60;
    assert.equal(await find(fileUrl({ path, signature: sign(path, "write", "", a.token, later), expiration: later }), "POST"), a.id);
  });

  it("routes nothing for forged or altered URLs", async () => {
    const a = at(0);
    const later = Math.floor(Date.now() / 1000) + 60;
    const good = sign(path, "read", "", a.token, later);
    const cases: [string, URL, string][] = [
      ["a token nobody holds", fileUrl({ path, signature: sign(path, "read", "", randomBytes(24).toString("hex")) }), "GET"],
      ["another path", fileUrl({ path: "/etc/shadow", signature: good, expiration: later }), "GET"],
      ["another user", fileUrl({ path, username: "root", signature: good, expiration: later }), "GET"],
      ["a read signature used to write", fileUrl({ path, signature: good, expiration: later }), "POST"],
      ["a moved expiration", fileUrl({ path, signature: good, expiration: later + 3600 }), "GET"],
      ["a dropped expiration", fileUrl({ path, signature: good }), "GET"],
      ["a malformed expiration", fileUrl({ path, signature: good, expiration: `${later}x` }), "GET"],
      ["no v1_ prefix", fileUrl({ path, signature: good.slice(3), expiration: later }), "GET"],
      ["a truncated signature", fileUrl({ path, signature: good.slice(0, -1), expiration: later }), "GET"],
      ["no signature", new URL(`http://gateway/files?path=${encodeURIComponent(path)}`), "GET"],
    ];
    for (const [what, url, method] of cases) assert.equal(await find(url, method), undefined, what);
  });

  it("routes an expired URL to its sandbox, whose envd refuses it with its own 401", async () => {
    // Expiry is envd's check (spec 2.5, envd's auth tests); routing it elsewhere would answer
    // the SDK with the api's 404 instead of envd's 401.
    const a = at(1);
    const past = Math.floor(Date.now() / 1000) - 60;
    assert.equal(await find(fileUrl({ path, signature: sign(path, "read", "", a.token, past), expiration: past }), "GET"), a.id);
  });

  it("stops routing a killed sandbox's URLs; a sandbox without a token is never routed", async () => {
    const c = at(2);
    const url = fileUrl({ path, signature: sign(path, "read", "", c.token) });
    assert.equal(await find(url, "GET"), c.id);
    assert.equal((await h.request("DELETE", `/sandboxes/${c.id}`)).statusCode, 204);
    assert.equal(await find(url, "GET"), undefined);

    // v1 creates are not secure by default: no envd token, so nothing can be signed for them.
    const v1 = await h.request("POST", "/sandboxes", { body: { templateID: "base" } });
    assert.equal(v1.statusCode, 201);
    assert.equal((v1.json() as { envdAccessToken?: string }).envdAccessToken, undefined);
    assert.equal(await find(fileUrl({ path, signature: sign(path, "read", "", "") }), "GET"), undefined);
  });
});
