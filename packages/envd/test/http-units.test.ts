import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvdError } from "../src/errors.js";
import { parseRange } from "../src/http/byte-range.js";
import { chooseResponseEncoding, requestEncoding } from "../src/http/content-encoding.js";
import { contentTypeFor } from "../src/http/content-type.js";
import { parseInitRequest } from "../src/http/init.js";
import { signFileAccess } from "@cove/protocol/signing";

describe("file URL signing (spec 2.5 vectors)", () => {
  it("signs a read without user or expiration", () => {
    assert.equal(
      signFileAccess({ path: "/home/user/a.txt", operation: "read", username: "", accessToken: "envd-token-123" }),
      "v1_gWyEOijXIhlLMDI3Q6VZMP+2c5P8tOyd6CcnPLG9eHU",
    );
  });
  it("signs a write as root with an expiration", () => {
    assert.equal(
      signFileAccess({ path: "/home/user/a.txt", operation: "write", username: "root", accessToken: "envd-token-123", expiration: 1700000000 }),
      "v1_DENd2rr1lxk5JY2FRRVsP2vqc8Fhp4EfG1jFvy2lZ14",
    );
  });
  it("has no base64 padding and changes with every input", () => {
    const base = { path: "/a", operation: "read" as const, username: "", accessToken: "t" };
    const all = new Set([
      signFileAccess(base),
      signFileAccess({ ...base, path: "/b" }),
      signFileAccess({ ...base, operation: "write" }),
      signFileAccess({ ...base, username: "user" }),
      signFileAccess({ ...base, accessToken: "u" }),
      signFileAccess({ ...base, expiration: 1 }),
    ]);
    assert.equal(all.size, 6);
    for (const sig of all) assert.doesNotMatch(sig, /=/);
  });
});

describe("Accept-Encoding for GET /files", () => {
  const cases: Array<[string | undefined, "gzip" | undefined]> = [
    [undefined, undefined],
    ["", undefined],
    ["gzip", "gzip"], // the SDK's gzip:true
    ["GZIP", "gzip"],
    ["gzip, deflate", undefined], // undici's default on every request
    ["gzip, deflate, br, zstd", undefined], // browsers
    ["deflate, gzip, br, zstd", undefined], // curl --compressed
    ["gzip;q=1, deflate;q=0.5", "gzip"],
    ["gzip;q=0", undefined],
    ["identity", undefined],
    ["gzip, identity;q=0", "gzip"],
    ["*", undefined],
    ["*;q=0, gzip", "gzip"],
    ["br, *;q=0.1, identity;q=0", "gzip"],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected ?? "identity"}`, () => {
      assert.equal(chooseResponseEncoding(header), expected);
    });
  }
  it("is 406 when identity is refused and gzip is not acceptable", () => {
    for (const header of ["br, identity;q=0", "*;q=0", "gzip;q=0, identity;q=0"]) {
      assert.throws(
        () => chooseResponseEncoding(header),
        (err: unknown) => err instanceof EnvdError && err.httpStatus === 406,
      );
    }
  });
});

describe("Content-Encoding for POST /files", () => {
  it("accepts gzip and identity, refuses others with 400", () => {
    assert.equal(requestEncoding(undefined), undefined);
    assert.equal(requestEncoding("identity"), undefined);
    assert.equal(requestEncoding("gzip"), "gzip");
    assert.equal(requestEncoding("x-gzip"), "gzip");
    assert.throws(
      () => requestEncoding("br"),
      (err: unknown) => err instanceof EnvdError && err.httpStatus === 400,
    );
  });
});

describe("Range", () => {
  const cases: Array<[string | undefined, number, ReturnType<typeof parseRange>]> = [
    [undefined, 10, { kind: "full" }],
    ["bytes=0-4", 10, { kind: "partial", range: { start: 0, end: 4 } }],
    ["bytes=5-", 10, { kind: "partial", range: { start: 5, end: 9 } }],
    ["bytes=5-100", 10, { kind: "partial", range: { start: 5, end: 9 } }],
    ["bytes=-3", 10, { kind: "partial", range: { start: 7, end: 9 } }],
    ["bytes=-30", 10, { kind: "partial", range: { start: 0, end: 9 } }],
    ["bytes=10-", 10, { kind: "unsatisfiable" }],
    ["bytes=-0", 10, { kind: "unsatisfiable" }],
    ["bytes=0-", 0, { kind: "unsatisfiable" }],
    ["bytes=0-1,3-4", 10, { kind: "full" }],
    ["items=0-1", 10, { kind: "full" }],
    ["bytes=5-2", 10, { kind: "full" }],
  ];
  for (const [header, size, expected] of cases) {
    it(`${JSON.stringify(header)} of ${size}`, () => assert.deepEqual(parseRange(header, size), expected));
  }
});

describe("content type by extension", () => {
  it("maps known extensions and falls back to bytes", () => {
    assert.equal(contentTypeFor("/a/b.TXT"), "text/plain; charset=utf-8");
    assert.equal(contentTypeFor("/a/b.png"), "image/png");
    assert.equal(contentTypeFor("/a/b"), "application/octet-stream");
    assert.equal(contentTypeFor("/a/.bashrc"), "application/octet-stream");
  });
});

describe("/init body", () => {
  it("parses the known fields and ignores the rest", () => {
    assert.deepEqual(
      parseInitRequest({
        envVars: { A: "1" },
        accessToken: "t",
        defaultUser: "user",
        defaultWorkdir: "/w",
        timestamp: "2026-01-02T03:04:05.678Z",
        hyperloopIP: "10.0.0.1",
        volumeMounts: [],
      }),
      { envVars: { A: "1" }, accessToken: "t", defaultUser: "user", defaultWorkdir: "/w", timestamp: Date.UTC(2026, 0, 2, 3, 4, 5, 678) },
    );
    assert.deepEqual(parseInitRequest(undefined), {});
    assert.deepEqual(parseInitRequest({ envVars: null, accessToken: null }), {});
  });
  it("rejects wrong types", () => {
    for (const body of [[], "x", { envVars: { A: 1 } }, { envVars: { "A=B": "1" } }, { defaultUser: "" }, { timestamp: 5 }]) {
      assert.throws(() => parseInitRequest(body), EnvdError, JSON.stringify(body));
    }
  });
});
