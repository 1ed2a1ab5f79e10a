import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { unpackLayer } from "../src/oci/unpack.js";
import { getXattr, buildLayerFsHelper } from "./helpers/layer-fs.js";
import { buildTar, paxRecord, type RawEntry } from "./helpers/tar-writer.js";

const work = mkdtempSync(join(tmpdir(), "cove-unpack-test-"));
let helper = "";
before(() => {
  helper = buildLayerFsHelper();
});
after(() => rmSync(work, { recursive: true, force: true }));

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += 4096) yield data.subarray(i, i + 4096);
}

let n = 0;
async function unpack(data: Buffer): Promise<{ dir: string; diffId: string }> {
  const dir = join(work, `layer-${n++}`);
  mkdirSync(dir);
  const { diffId } = await unpackLayer(once(data), dir, { helper });
  return { dir, diffId };
}

const layer1: RawEntry[] = [
  { path: "a/", type: "5", mode: 0o755, mtime: 1_500_000_000 },
  { path: "a/x", content: "x1" },
  { path: "a/y", content: "y1" },
  { path: "b/", type: "5", mode: 0o755 },
  { path: "b/z", content: "z1" },
  { path: "b/sub/", type: "5", mode: 0o700 },
  { path: "b/sub/deep", content: "deep" },
  { path: "keep", content: "keep" },
];
const layer2: RawEntry[] = [
  { path: "a/.wh.x", content: "" },
  { path: "b/.wh..wh..opq", content: "" },
  { path: "b/new", content: "new" },
  { path: "c/", type: "5", mode: 0o755 },
  { path: "c/.wh.nothing", content: "" },
];

describe("unpackLayer", () => {
  it("writes files, links, nodes and metadata", async () => {
    const tar = buildTar([
      { path: "./bin/", type: "5", mode: 0o755, mtime: 1_400_000_000 },
      { path: "./bin/su", content: "#!", mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000 },
      { path: "./home/user/file", content: "data", uid: 1000, gid: 1001, mode: 0o640 },
      { path: "./bin/sh", type: "2", linkpath: "/bin/busybox", uid: 5, gid: 6 },
      { path: "./bin/su2", type: "1", linkpath: "./bin/su" },
      { path: "./dev/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666 },
      { path: "./dev/fifo", type: "6", mode: 0o600, uid: 7, gid: 8 },
      { path: "paxhdr", type: "x", content: paxRecord("SCHILY.xattr.user.note", "hi") + paxRecord("SCHILY.xattr.trusted.overlay.opaque", "y") },
      { path: "./withxattr", content: "x" },
      { path: "./open", content: "x", mode: 0o777 },
      { path: "./shared/", type: "5", mode: 0o2775, gid: 50 },
      { path: "./shared/rootfile", content: "x" },
    ]);
    const { dir, diffId } = await unpack(tar);
    assert.equal(diffId, `sha256:${createHash("sha256").update(tar).digest("hex")}`);
    const su = statSync(join(dir, "bin/su"));
    assert.equal(su.mode & 0o7777, 0o4755);
    assert.equal(su.mtimeMs, 1_600_000_000_000);
    assert.equal(su.nlink, 2);
    assert.equal(statSync(join(dir, "bin/su2")).ino, su.ino);
    const file = statSync(join(dir, "home/user/file"));
    assert.deepEqual([file.uid, file.gid, file.mode & 0o777], [1000, 1001, 0o640]);
    assert.equal(readFileSync(join(dir, "home/user/file"), "utf8"), "data");
    assert.equal(readlinkSync(join(dir, "bin/sh")), "/bin/busybox");
    assert.deepEqual([lstatSync(join(dir, "bin/sh")).uid, lstatSync(join(dir, "bin/sh")).gid], [5, 6]);
    const dev = lstatSync(join(dir, "dev/null"));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.equal(dev.mode & 0o777, 0o666);
    const fifo = lstatSync(join(dir, "dev/fifo"));
    assert.ok(fifo.isFIFO());
    assert.deepEqual([fifo.uid, fifo.gid], [7, 8]);
    assert.equal(statSync(join(dir, "bin")).mtimeMs, 1_400_000_000_000);
    assert.equal(getXattr(join(dir, "withxattr"), "user.note"), "hi");
    assert.equal(getXattr(join(dir, "withxattr"), "trusted.overlay.opaque"), undefined);
    assert.equal(statSync(join(dir, "open")).mode & 0o7777, 0o777); // not trimmed by the umask
    assert.equal(statSync(join(dir, "shared")).mode & 0o7777, 0o2775);
    assert.equal(statSync(join(dir, "shared/rootfile")).gid, 0); // not the setgid dir's group
  });

  it("refuses a directory that is not empty", async () => {
    const dir = join(work, `layer-${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "stale"), "x");
    await assert.rejects(
      unpackLayer(once(buildTar([{ path: "a", content: "x" }])), dir, { helper }),
      (err: unknown) => (err as { code?: string }).code === "io_failed",
    );
  });

  it("writes many files and still honours links and replacements", async () => {
    const entries: RawEntry[] = [];
    for (let i = 0; i < 300; i++) entries.push({ path: `many/f${i}`, content: `content ${i}`, mode: 0o640, uid: i, mtime: 1_600_000_000 + i });
    entries.push({ path: "many/link", type: "1", linkpath: "many/f299" });
    entries.push({ path: "many/f10", type: "5" });
    entries.push({ path: "many/f10/inside", content: "dir now" });
    const { dir } = await unpack(buildTar(entries));
    assert.equal(readdirSync(join(dir, "many")).length, 301);
    assert.equal(readFileSync(join(dir, "many/f123"), "utf8"), "content 123");
    const st = statSync(join(dir, "many/f200"));
    assert.deepEqual([st.uid, st.mode & 0o777, st.mtimeMs], [200, 0o640, 1_600_000_200_000]);
    assert.equal(statSync(join(dir, "many/link")).ino, statSync(join(dir, "many/f299")).ino);
    assert.equal(readFileSync(join(dir, "many/f10/inside"), "utf8"), "dir now");
  });

  it("reads gzip and zstd layers to the same diff id", async () => {
    const tar = buildTar(layer1);
    const plain = await unpack(tar);
    const gz = await unpack(gzipSync(tar));
    const zst = await unpack(zstdCompressSync(tar));
    assert.equal(gz.diffId, plain.diffId);
    assert.equal(zst.diffId, plain.diffId);
    assert.equal(readFileSync(join(zst.dir, "b/sub/deep"), "utf8"), "deep");
  });

  it("writes whiteouts and opaque dirs that overlayfs honours", async (t) => {
    const l1 = await unpack(buildTar(layer1));
    const l2 = await unpack(buildTar(layer2));
    const wh = lstatSync(join(l2.dir, "a/x"));
    assert.ok(wh.isCharacterDevice());
    assert.equal(wh.rdev, 0);
    assert.equal(getXattr(join(l2.dir, "b"), "trusted.overlay.opaque"), "y");
    const mnt = join(work, `mnt-${n++}`);
    mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${l2.dir}:${l1.dir}`, mnt], { stdio: "pipe" });
    } catch (err) {
      t.skip(`cannot mount overlayfs here: ${String((err as { stderr?: unknown }).stderr ?? err)}`);
      return;
    }
    try {
      assert.deepEqual(readdirSync(join(mnt, "a")).sort(), ["y"]);
      assert.deepEqual(readdirSync(join(mnt, "b")).sort(), ["new"]);
      // A whiteout over nothing: overlayfs lists a non-merged dir as is, but the name does not resolve.
      assert.equal(existsSync(join(mnt, "c/nothing")), false);
      assert.equal(readFileSync(join(mnt, "keep"), "utf8"), "keep");
    } finally {
      execFileSync("umount", [mnt]);
    }
  });

  it("lets a later entry replace an earlier one", async () => {
    const { dir } = await unpack(
      buildTar([
        { path: "f", content: "old" },
        { path: "f", content: "new" },
        { path: "d/", type: "5" },
        { path: "d/inner", content: "x" },
        { path: "d", content: "now a file" },
        { path: "n", type: "6" },
        { path: "n", content: "file again" },
      ]),
    );
    assert.equal(readFileSync(join(dir, "f"), "utf8"), "new");
    assert.equal(readFileSync(join(dir, "d"), "utf8"), "now a file");
    assert.equal(readFileSync(join(dir, "n"), "utf8"), "file again");
  });
});

describe("unpackLayer with hostile archives", () => {
  const cases: [string, RawEntry[], "refused" | "contained"][] = [
    ["dot-dot path", [{ path: "../outside/evil", content: "x" }], "refused"],
    ["dot-dot inside a path", [{ path: "a/../../outside/evil", content: "x" }], "refused"],
    ["absolute path", [{ path: "/outside/evil", content: "x" }], "contained"],
    [
      "file through a symlink",
      [
        { path: "link", type: "2", linkpath: "OUTSIDE" },
        { path: "link/evil", content: "x" },
      ],
      "refused",
    ],
    [
      "file through a relative symlink",
      [
        { path: "up", type: "2", linkpath: "../outside" },
        { path: "up/evil", content: "x" },
      ],
      "refused",
    ],
    [
      "directory through a symlink",
      [
        { path: "link", type: "2", linkpath: "OUTSIDE" },
        { path: "link/sub/", type: "5" },
      ],
      "refused",
    ],
    [
      "device through a symlink",
      [
        { path: "link", type: "2", linkpath: "OUTSIDE" },
        { path: "link/evil", type: "3", devmajor: 1, devminor: 3 },
      ],
      "refused",
    ],
    ["opaque marker through a symlink", [{ path: "link", type: "2", linkpath: "OUTSIDE" }, { path: "link/.wh..wh..opq" }], "refused"],
    ["whiteout through a symlink", [{ path: "link", type: "2", linkpath: "OUTSIDE" }, { path: "link/.wh.target" }], "refused"],
    ["hard link out of the tree", [{ path: "h", type: "1", linkpath: "../outside/target" }], "refused"],
    ["hard link to an absolute path", [{ path: "h", type: "1", linkpath: "OUTSIDE/target" }], "refused"],
    [
      "hard link through a symlink",
      [
        { path: "link", type: "2", linkpath: "OUTSIDE" },
        { path: "h", type: "1", linkpath: "link/target" },
      ],
      "refused",
    ],
    [
      "hard link to a directory",
      [
        { path: "d/", type: "5" },
        { path: "h", type: "1", linkpath: "d" },
      ],
      "refused",
    ],
    ["whiteout of ..", [{ path: "a/.wh..." }], "refused"],
    ["whiteout of nothing", [{ path: ".wh." }], "refused"],
    [
      "NUL in a pax path",
      [
        { path: "p", type: "x", content: paxRecord("path", "a\0b") },
        { path: "x", content: "x" },
      ],
      "refused",
    ],
    [
      "pax linkpath out of the tree",
      [
        { path: "p", type: "x", content: paxRecord("linkpath", "../outside/target") },
        { path: "h", type: "1", linkpath: "x" },
      ],
      "refused",
    ],
    [
      "file over a symlink to outside",
      [
        { path: "f", type: "2", linkpath: "OUTSIDE/target" },
        { path: "f", content: "replaced" },
      ],
      "contained",
    ],
    [
      "hard link to a symlink, then a file over it",
      [
        { path: "s", type: "2", linkpath: "OUTSIDE/target" },
        { path: "h", type: "1", linkpath: "s" },
        { path: "h", content: "replaced" },
      ],
      "contained",
    ],
  ];
  for (const [name, entries, outcome] of cases) {
    it(`${outcome === "refused" ? "refuses" : "contains"} ${name}`, async () => {
      const base = mkdtempSync(join(work, "hostile-"));
      const outside = join(base, "outside");
      mkdirSync(outside);
      execFileSync("sh", ["-c", 'echo original > "$1/target"', "sh", outside]);
      const dir = join(base, "layer");
      mkdirSync(dir);
      const fixed = entries.map((e) => ({
        ...e,
        path: e.path.replace("OUTSIDE", outside),
        ...(e.linkpath !== undefined && { linkpath: e.linkpath.replace("OUTSIDE", outside) }),
      }));
      const run = unpackLayer(once(buildTar(fixed)), dir, { helper });
      if (outcome === "refused") await assert.rejects(run, (err: unknown) => (err as { code?: string }).code === "invalid_image");
      else await run;
      assert.deepEqual(readdirSync(outside), ["target"]);
      assert.equal(readFileSync(join(outside, "target"), "utf8"), "original\n");
      assert.deepEqual(readdirSync(base).sort(), ["layer", "outside"]);
      if (name === "absolute path") assert.equal(readFileSync(join(dir, "outside/evil"), "utf8"), "x");
      if (outcome === "contained") assert.ok(existsSync(dir));
    });
  }
});
