// Spare disk images (COVE_SPARE_DISKS): formatted ahead of time, claimed by the next prepare of
// the same size, replaced when the size changes, and gone after close or a restart. Real
// mounts and loop devices, run as root; everything lives under a temp data dir.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm, stat, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createStorageManager, type StorageManager } from "../src/storage/index.js";
import { unmountUnder } from "../src/storage/unmount.js";

const MiB = 1024 * 1024;

/** The finished spare images on disk (not one mkfs is still writing): name → size in bytes. */
async function sparesOn(dataDir: string): Promise<Map<string, number>> {
  const dir = join(dataDir, "storage", "spare");
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".ext4"));
  const sizes = await Promise.all(names.map(async (name) => [name, (await stat(join(dir, name))).size] as const));
  return new Map(sizes);
}

/** Polls until `ok` holds for the spares on disk (a refill runs in the background). */
async function waitForSpares(dataDir: string, ok: (spares: Map<string, number>) => boolean): Promise<Map<string, number>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const spares = await sparesOn(dataDir);
    if (ok(spares)) return spares;
    if (Date.now() > deadline) assert.fail(`spares never settled: ${JSON.stringify([...spares])}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("storage: spare disk images", { skip: process.getuid?.() === 0 ? false : "needs root to mount" }, () => {
  let root = "";
  let dataDir = "";
  let lower = "";
  let storage: StorageManager;

  before(async () => {
    root = mkdtempSync("/var/tmp/cove-spares-test-");
    dataDir = join(root, "data");
    lower = join(root, "lower");
    mkdirSync(join(lower, "etc"), { recursive: true });
    writeFileSync(join(lower, "etc", "hostname"), "template\n");
    storage = createStorageManager({ dataDir, spareImages: 1 });
    await storage.init();
  });

  after(async () => {
    await storage.cleanupOrphans(new Set()).catch(() => undefined);
    await storage.close().catch(() => undefined);
    const left = await unmountUnder([root]);
    await rm(root, { recursive: true, force: true });
    assert.deepEqual(left, [], "after hook could unmount everything");
  });

  it("the next prepare of the same size takes the spare: its disk is that very image, empty and of the asked size", async () => {
    const first = await storage.prepare("spare-a", { lowerDir: lower, diskBytes: 64 * MiB });
    const spares = await waitForSpares(dataDir, (s) => s.size === 1);
    assert.deepEqual([...spares.values()], [64 * MiB]);
    const spareInode = (await stat(join(dataDir, "storage", "spare", [...spares.keys()][0]!))).ino;

    const second = await storage.prepare("spare-b", { lowerDir: lower, diskBytes: 64 * MiB });
    try {
      assert.equal((await stat(String(second.handle.image))).ino, spareInode, "the spare was moved into place");
      assert.equal(await readFile(join(second.rootfs, "etc", "hostname"), "utf8"), "template\n");
      await writeFile(join(second.rootfs, "etc", "hostname"), "b\n");
      assert.deepEqual(await readdir(join(String(second.handle.diskDir), "upper")), ["etc"], "nothing but this sandbox's write on its disk");
      const fs = await statfs(String(second.handle.diskDir));
      const size = fs.blocks * fs.bsize;
      assert.ok(size > 48 * MiB && size <= 64 * MiB, `disk of ${size} bytes`);
      // And a new spare is made for the one taken.
      await waitForSpares(dataDir, (s) => s.size === 1 && !s.has(String(second.handle.image)));
    } finally {
      await storage.release("spare-a", first);
      await storage.release("spare-b", second);
    }
  });

  it("a prepare of another size replaces the spares with that size", async () => {
    const other = await storage.prepare("spare-c", { lowerDir: lower, diskBytes: 48 * MiB });
    try {
      const spares = await waitForSpares(dataDir, (s) => s.size === 1 && [...s.values()][0] === 48 * MiB);
      assert.deepEqual([...spares.values()], [48 * MiB]);
    } finally {
      await storage.release("spare-c", other);
    }
  });

  it("close deletes the spares, and a restarted manager deletes what a crash left", async () => {
    await storage.close();
    assert.deepEqual([...(await sparesOn(dataDir))], []);
    const spareDir = join(dataDir, "storage", "spare");
    mkdirSync(spareDir, { recursive: true });
    writeFileSync(join(spareDir, "12345-0.ext4"), "left by a crash");
    const restarted = createStorageManager({ dataDir, spareImages: 1 });
    await restarted.init();
    assert.deepEqual([...(await sparesOn(dataDir))], []);
    await restarted.close();
  });
});
