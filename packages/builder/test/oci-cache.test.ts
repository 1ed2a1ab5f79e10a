import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { after, describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { createBlobCache } from "../src/oci/blob-cache.js";
import { createLayerCache } from "../src/oci/layer-cache.js";
import { sha256 } from "./helpers/registry.js";

const work = mkdtempSync(join(tmpdir(), "cove-cache-test-"));
after(() => rmSync(work, { recursive: true, force: true }));
const code = (c: string) => (err: unknown) => err instanceof BuilderError && err.code === c;

async function* slowly(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += 1000) {
    await new Promise((resolve) => setImmediate(resolve));
    yield data.subarray(i, i + 1000);
  }
}

describe("blob cache", () => {
  const data = Buffer.from("x".repeat(10_000));
  const digest = sha256(data);

  it("stores a verified blob under its digest and downloads it once for concurrent callers", async () => {
    const cache = createBlobCache(join(work, "c1"));
    let opens = 0;
    const open = async () => {
      opens++;
      return slowly(data);
    };
    const [a, b] = await Promise.all([cache.get({ digest, size: data.length }, open), cache.get({ digest, size: data.length }, open)]);
    assert.equal(opens, 1);
    assert.equal(a, b);
    assert.equal(a, join(work, "c1/blobs/sha256", digest.slice(7)));
    assert.equal(readFileSync(a, "utf8"), data.toString());
    assert.equal(await cache.get({ digest }, open), a);
    assert.equal(opens, 1);
    assert.equal(await cache.has(digest), a);
  });

  it("refuses a blob that does not match its digest or size, and leaves nothing behind", async () => {
    const cache = createBlobCache(join(work, "c2"));
    await assert.rejects(
      cache.get({ digest }, async () => slowly(Buffer.from("tampered"))),
      code("invalid_image"),
    );
    await assert.rejects(
      cache.get({ digest, size: 10 }, async () => slowly(data)),
      code("invalid_image"),
    );
    await assert.rejects(
      cache.get({ digest, size: data.length + 1 }, async () => slowly(data)),
      code("invalid_image"),
    );
    assert.equal(await cache.has(digest), undefined);
    assert.deepEqual(readdirSync(join(work, "c2/blobs/tmp")), []);
  });

  it("sweeps temp files of writers that are gone, and keeps live ones", async () => {
    const dir = join(work, "c4");
    mkdirSync(join(dir, "blobs/tmp"), { recursive: true });
    writeFileSync(join(dir, "blobs/tmp", `${"a".repeat(64)}.999999999.dead`), "half");
    writeFileSync(join(dir, "blobs/tmp", `${"a".repeat(64)}.${process.pid}.live`), "half");
    await createBlobCache(dir).get({ digest }, async () => slowly(data));
    assert.deepEqual(readdirSync(join(dir, "blobs/tmp")), [`${"a".repeat(64)}.${process.pid}.live`]);
  });

  it("maps a broken download to registry_unreachable", async () => {
    const cache = createBlobCache(join(work, "c3"));
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from("x");
      throw new Error("socket hang up");
    }
    await assert.rejects(
      cache.get({ digest }, async () => broken()),
      code("registry_unreachable"),
    );
    assert.deepEqual(readdirSync(join(work, "c3/blobs/tmp")), []);
  });
});

describe("layer cache", () => {
  const digest = `sha256:${"1".repeat(64)}`;
  const diffId = `sha256:${"2".repeat(64)}`;

  it("publishes a layer only after a complete, verified unpack", async () => {
    const cache = createLayerCache(join(work, "l1"));
    await assert.rejects(
      cache.get(digest, diffId, async (dir) => {
        writeFileSync(join(dir, "half"), "x");
        throw new Error("disk full");
      }),
      code("io_failed"),
    );
    await assert.rejects(
      cache.get(digest, diffId, async () => ({ diffId: `sha256:${"3".repeat(64)}` })),
      code("invalid_image"),
    );
    assert.equal(await cache.has(digest), undefined);
    assert.deepEqual(readdirSync(join(work, "l1/layers/tmp")), []);
    let unpacks = 0;
    const unpack = async (dir: string) => {
      unpacks++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      writeFileSync(join(dir, "file"), "ok");
      return { diffId };
    };
    const [a, b] = await Promise.all([cache.get(digest, diffId, unpack), cache.get(digest, diffId, unpack)]);
    assert.equal(unpacks, 1);
    assert.equal(a, b);
    assert.ok(existsSync(join(a, "file")));
    assert.equal(await createLayerCache(join(work, "l1")).get(digest, diffId, unpack), a);
    assert.equal(unpacks, 1);
  });
});
