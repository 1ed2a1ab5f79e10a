// The node's store of COPY steps' uploads: kept by hash, never visible half-written, capped in size.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { createBuildFileStore } from "../src/builds/build-files.js";
import { NodeError } from "../src/errors.js";

describe("build file store", () => {
  const dir = mkdtempSync(join(tmpdir(), "cove-build-files-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hash = (c: string) => c.repeat(64);

  it("stores by hash, tells gzip from plain tar, and reports what it has", async () => {
    const store = await createBuildFileStore(join(dir, "a"));
    await store.put(hash("a"), Readable.from([gzipSync(Buffer.from("x"))]));
    await store.put(hash("b"), Readable.from([Buffer.from("plain")]));
    assert.equal(await store.has(hash("a")), true);
    assert.equal(await store.has(hash("c")), false);
    assert.equal((await store.find(hash("a")))?.gzip, true);
    assert.equal((await store.find(hash("b")))?.gzip, false);
    assert.equal(readFileSync((await store.find(hash("b")))?.path ?? "", "utf8"), "plain");
    assert.equal(await store.find(hash("c")), undefined);
  });

  it("refuses a hash that is not 64 hex digits, and an upload past the cap, leaving nothing behind", async () => {
    const store = await createBuildFileStore(join(dir, "b"), 1024);
    await assert.rejects(store.put("../etc", Readable.from([Buffer.from("x")])), (e: unknown) => e instanceof NodeError && e.code === "invalid_argument");
    await assert.rejects(
      store.put(hash("d"), Readable.from([Buffer.alloc(600), Buffer.alloc(600)])),
      (e: unknown) => e instanceof NodeError && e.code === "resource_exhausted",
    );
    assert.deepEqual(readdirSync(join(dir, "b")), []);
  });
});
