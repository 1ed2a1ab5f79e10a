import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync, chownSync, linkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { readTar, type TarEntry } from "../src/oci/tar-reader.js";
import { buildTar, paxRecord } from "./helpers/tar-writer.js";

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function readAll(data: Buffer, chunk = 7): Promise<(TarEntry & { content: string })[]> {
  const out: (TarEntry & { content: string })[] = [];
  for await (const { entry, body } of readTar(chunked(data, chunk))) {
    const parts: Buffer[] = [];
    for await (const c of body()) parts.push(c);
    out.push({ ...entry, content: Buffer.concat(parts).toString() });
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), "cove-tar-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

function systemTar(format: string, build: (root: string) => string[]): Buffer {
  const root = mkdtempSync(join(work, "src-"));
  const names = build(root);
  return execFileSync("tar", ["-c", `--format=${format}`, "-C", root, ...names], { maxBuffer: 64 << 20 });
}

describe("readTar", () => {
  for (const format of ["gnu", "pax", "ustar"]) {
    it(`reads a ${format} archive from the system tar`, async () => {
      const longDir = format === "ustar" ? "d".repeat(90) : "d".repeat(120);
      const longTarget = format === "ustar" ? "t" : "t".repeat(150);
      const data = systemTar(format, (root) => {
        mkdirSync(join(root, "dir", longDir), { recursive: true });
        writeFileSync(join(root, "dir", longDir, "file.txt"), "hello world");
        writeFileSync(join(root, "big"), Buffer.alloc(70_000, 0x61));
        chownSync(join(root, "big"), 1234, 5678);
        chmodSync(join(root, "big"), 0o4755);
        utimesSync(join(root, "big"), 1_600_000_000, 1_600_000_000);
        symlinkSync(longTarget, join(root, "link"));
        linkSync(join(root, "big"), join(root, "hard"));
        execFileSync("mkfifo", [join(root, "fifo")]);
        execFileSync("mknod", [join(root, "null"), "c", "1", "3"]);
        return ["dir", "big", "link", "hard", "fifo", "null"];
      });
      const entries = await readAll(data, 1000);
      const by = new Map(entries.map((e) => [e.path.replace(/\/$/, ""), e]));
      assert.equal(by.get(`dir/${longDir}/file.txt`)?.content, "hello world");
      const big = by.get("big")!;
      assert.equal(big.type, "file");
      assert.equal(big.size, 70_000);
      assert.equal(big.content, "a".repeat(70_000));
      assert.equal(big.mode, 0o4755);
      assert.deepEqual([big.uid, big.gid, big.mtime], [1234, 5678, 1_600_000_000]);
      assert.deepEqual([by.get("link")?.type, by.get("link")?.linkpath], ["symlink", longTarget]);
      assert.deepEqual([by.get("hard")?.type, by.get("hard")?.linkpath], ["hardlink", "big"]);
      assert.equal(by.get("fifo")?.type, "fifo");
      assert.deepEqual([by.get("null")?.type, by.get("null")?.devmajor, by.get("null")?.devminor], ["chardev", 1, 3]);
      assert.equal(by.get("dir")?.type, "directory");
    });
  }

  it("reads GNU base-256 ids", async () => {
    const data = systemTar("gnu", (root) => {
      writeFileSync(join(root, "f"), "x");
      chownSync(join(root, "f"), 3_000_000, 3_000_001);
      return ["f"];
    });
    const [f] = await readAll(data);
    assert.deepEqual([f?.uid, f?.gid], [3_000_000, 3_000_001]);
  });

  it("reads pax path, linkpath, fractional mtime and global headers", async () => {
    const pax = Buffer.from(paxRecord("path", `${"p/".repeat(100)}x`) + paxRecord("mtime", "1700000000.5") + paxRecord("uid", "99"));
    const global = Buffer.from(paxRecord("gid", "77"));
    const full = buildTar([
      { path: "pax_global_header", type: "g", content: global },
      { path: "paxheader", type: "x", content: pax },
      { path: "short", content: "body" },
      { path: "next", content: "2" },
    ]);
    const entries = await readAll(full);
    assert.equal(entries[0]?.path, `${"p/".repeat(100)}x`);
    assert.equal(entries[0]?.mtime, 1_700_000_000.5);
    assert.equal(entries[0]?.uid, 99);
    assert.equal(entries[0]?.gid, 77);
    assert.equal(entries[0]?.content, "body");
    assert.equal(entries[1]?.path, "next");
    assert.equal(entries[1]?.uid, 0);
    assert.equal(entries[1]?.gid, 77);
  });

  it("skips bodies the caller does not read", async () => {
    const data = buildTar([
      { path: "a", content: "x".repeat(1000) },
      { path: "b", content: "y" },
    ]);
    const paths: string[] = [];
    for await (const { entry } of readTar(chunked(data, 100))) paths.push(entry.path);
    assert.deepEqual(paths, ["a", "b"]);
  });

  const isInvalid = (err: unknown) => err instanceof BuilderError && err.code === "invalid_image";
  it("refuses a bad checksum", async () => {
    const data = buildTar([{ path: "a", content: "x" }]);
    data[0] = "b".charCodeAt(0);
    await assert.rejects(readAll(data), isInvalid);
  });
  it("refuses a truncated archive", async () => {
    const data = buildTar([{ path: "a", content: "x".repeat(2000) }]);
    await assert.rejects(readAll(data.subarray(0, 1000)), isInvalid);
  });
  it("ends at EOF without zero blocks", async () => {
    const data = buildTar([{ path: "a", content: "x" }]);
    assert.equal((await readAll(data.subarray(0, 1024))).length, 1);
  });
  it("reads a real file tree with every chunk size", async () => {
    const data = buildTar([
      { path: "a", content: "1".repeat(511) },
      { path: "b", content: "2".repeat(513) },
      { path: "c/", type: "5", mode: 0o755 },
    ]);
    for (const size of [1, 3, 511, 512, 4096]) {
      const entries = await readAll(data, size);
      assert.deepEqual(
        entries.map((e) => [e.path, e.content.length]),
        [
          ["a", 511],
          ["b", 513],
          ["c/", 0],
        ],
      );
    }
  });
});
