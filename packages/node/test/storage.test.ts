// Real mounts, real loop devices: per-sandbox ext4 disks under overlayfs, run as root.
// Every test releases what it prepares; the after hook unmounts and deletes anything left
// under the temp data dir even when a test failed halfway.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { open, readFile, readdir, rm, stat, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { NodeError } from "../src/errors.js";
import { listLoopDevices } from "../src/storage/loop-devices.js";
import { mountsUnder, readMounts } from "../src/storage/mountinfo.js";
import { createStorageManager, type SandboxRootfs, type StorageManager } from "../src/storage/index.js";
import { unmountUnder } from "../src/storage/unmount.js";

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const baseRootfs = "/var/tmp/cove-test/templates/base/rootfs";

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to mount";
  return undefined;
}

const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Writes 1 MiB chunks until `bytes` are written or a write fails; returns the error, if any. */
async function fill(path: string, bytes: number): Promise<NodeJS.ErrnoException | undefined> {
  const file = await open(path, "w");
  const chunk = Buffer.alloc(MiB, 7);
  try {
    for (let written = 0; written < bytes; written += MiB) await file.write(chunk);
    await file.sync();
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function assertNothingLeft(dataDir: string): Promise<void> {
  assert.deepEqual(mountsUnder(await readMounts(), dataDir), [], "no mounts under the data dir");
  const loops = (await listLoopDevices()).filter((d) => d.backingFile.startsWith(dataDir));
  assert.deepEqual(loops, [], "no loop devices on images in the data dir");
  assert.deepEqual(await readdir(join(dataDir, "storage", "sandboxes")).catch(() => []), [], "no storage dirs");
  assert.deepEqual(await readdir(join(dataDir, "sandboxes")).catch(() => []), [], "no sandbox dirs");
}

describe("storage: per-sandbox ext4 disk under overlayfs", { skip: skipReason() }, () => {
  let dataDir = "";
  let lower = "";
  let storage: StorageManager;
  const managers: StorageManager[] = [];
  const newManager = () => {
    const manager = createStorageManager({ dataDir });
    managers.push(manager);
    return manager;
  };

  before(async () => {
    // /var/tmp, not tmpdir(): it must be a disk-backed fs, like a node's data dir.
    const root = mkdtempSync("/var/tmp/cove-storage-test-");
    dataDir = join(root, "data");
    lower = join(root, "lower");
    mkdirSync(join(lower, "etc"), { recursive: true });
    mkdirSync(join(lower, "home", "user"), { recursive: true });
    writeFileSync(join(lower, "etc", "hostname"), "template\n");
    writeFileSync(join(lower, "home", "user", "notes.txt"), "from the template\n");
    storage = newManager();
    await storage.init();
  });

  after(async () => {
    if (!dataDir) return;
    const root = join(dataDir, "..");
    // Release through the API first, then sweep whatever a failed test left behind.
    for (const manager of managers) await manager.cleanupOrphans(new Set()).catch(() => undefined);
    const left = await unmountUnder([root]);
    await rm(root, { recursive: true, force: true });
    assert.deepEqual(left, [], "after hook could unmount everything");
  });

  it("shows the template's files, writes only to its own upper, sandboxes don't see each other", async () => {
    const start = process.hrtime.bigint();
    const a = await storage.prepare("iso-a", { lowerDir: lower, diskBytes: 64 * MiB });
    console.log("# prepare ms", elapsed(start).toFixed(1));
    const b = await storage.prepare("iso-b", { lowerDir: lower, diskBytes: 64 * MiB });
    try {
      assert.equal(a.rootfs, join(dataDir, "sandboxes", "iso-a", "rootfs"));
      assert.equal(await readFile(join(a.rootfs, "etc", "hostname"), "utf8"), "template\n");
      await writeFile(join(a.rootfs, "etc", "hostname"), "sandbox-a\n");
      await writeFile(join(a.rootfs, "home", "user", "new.txt"), "only in a\n");
      await rm(join(a.rootfs, "home", "user", "notes.txt"));

      assert.equal(await readFile(join(a.rootfs, "etc", "hostname"), "utf8"), "sandbox-a\n");
      assert.equal(await readFile(join(lower, "etc", "hostname"), "utf8"), "template\n", "lower unchanged");
      assert.ok(existsSync(join(lower, "home", "user", "notes.txt")), "delete did not reach the lower");
      assert.ok(!existsSync(join(lower, "home", "user", "new.txt")));
      assert.equal(await readFile(join(String(a.handle.diskDir), "upper", "etc", "hostname"), "utf8"), "sandbox-a\n");

      assert.equal(await readFile(join(b.rootfs, "etc", "hostname"), "utf8"), "template\n", "b sees the template");
      assert.ok(existsSync(join(b.rootfs, "home", "user", "notes.txt")));
      assert.ok(!existsSync(join(b.rootfs, "home", "user", "new.txt")));

      const [lowerRoot, overlayRoot] = await Promise.all([stat(lower), stat(a.rootfs)]);
      assert.equal(overlayRoot.mode, lowerRoot.mode, "/ inside has the template root's mode");
      assert.equal(JSON.parse(JSON.stringify(a)).handle.kind, "ext4-image", "rootfs is JSON-serializable");
    } finally {
      await storage.release("iso-a");
      await storage.release("iso-b");
    }
    await assertNothingLeft(dataDir);
  });

  it("a sandbox that fills its 32 MiB disk gets ENOSPC; its neighbour and the host do not notice", async () => {
    const full = await storage.prepare("full", { lowerDir: lower, diskBytes: 32 * MiB });
    const neighbour = await storage.prepare("neighbour", { lowerDir: lower, diskBytes: 32 * MiB });
    try {
      const fsStats = await statfs(full.rootfs);
      const size = fsStats.blocks * fsStats.bsize;
      console.log("# df size of a 32 MiB disk, MiB", (size / MiB).toFixed(1));
      assert.ok(size <= 32 * MiB && size > 24 * MiB, `df inside shows the limit, got ${size}`);

      const err = await fill(join(full.rootfs, "big"), 64 * MiB);
      assert.equal(err?.code, "ENOSPC");
      assert.match(err.message, /no space left on device/);
      const { size: written } = await stat(join(full.rootfs, "big"));
      assert.ok(written < 32 * MiB, `wrote ${written} bytes before ENOSPC`);

      const dd = await execFileAsync("dd", ["if=/dev/zero", `of=${join(full.rootfs, "more")}`, "bs=1M", "count=8"]).catch((e: { stderr: string }) => e);
      assert.match(dd.stderr, /No space left on device/, "what a user's shell shows");

      assert.ok((await storage.usage("full")) > 20 * MiB, "usage sees the filled disk");
      assert.equal(await fill(join(neighbour.rootfs, "ok"), 8 * MiB), undefined, "the neighbour still writes");
      assert.ok((await storage.usage("neighbour")) >= 8 * MiB);

      const { blocks } = await stat(String(full.handle.image));
      assert.ok(blocks * 512 <= 33 * MiB, `the image takes at most its size on the host, took ${blocks * 512}`);
      await writeFile(join(dataDir, "host-still-writes"), "yes");
      await rm(join(dataDir, "host-still-writes"));

      await rm(join(full.rootfs, "big"));
      await rm(join(full.rootfs, "more"), { force: true });
      await execFileAsync("sync", ["-f", String(full.handle.diskDir)]);
      assert.ok((await storage.usage("full")) < 4 * MiB, "deleting frees the disk");
    } finally {
      await storage.release("full");
      await storage.release("neighbour");
    }
    await assertNothingLeft(dataDir);
  });

  it("30 prepare/release cycles leave no mounts, dirs or loop devices", async () => {
    const prepareMs: number[] = [];
    const releaseMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      let start = process.hrtime.bigint();
      const rootfs = await storage.prepare(`cycle-${i}`, { lowerDir: lower, diskBytes: 1024 * MiB });
      prepareMs.push(elapsed(start));
      await writeFile(join(rootfs.rootfs, "file"), "x");
      start = process.hrtime.bigint();
      await storage.release(`cycle-${i}`);
      releaseMs.push(elapsed(start));
    }
    console.log("# prepare ms (1 GiB disk) p50", median(prepareMs).toFixed(1), "max", Math.max(...prepareMs).toFixed(1));
    console.log("# release ms p50", median(releaseMs).toFixed(1), "max", Math.max(...releaseMs).toFixed(1));
    // Other processes on the host may attach loop devices meanwhile: only ours must be gone.
    await assertNothingLeft(dataDir);
  });

  it("concurrent prepares get distinct loop devices; concurrent releases clean up", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `parallel-${i}`);
    const start = process.hrtime.bigint();
    const rootfses = await Promise.all(ids.map((id) => storage.prepare(id, { lowerDir: lower, diskBytes: 64 * MiB })));
    console.log("# 8 concurrent prepares ms", elapsed(start).toFixed(1));
    await Promise.all(rootfses.map((r) => writeFile(join(r.rootfs, "me"), r.sandboxId)));
    for (const r of rootfses) assert.equal(await readFile(join(r.rootfs, "me"), "utf8"), r.sandboxId);
    const sources = mountsUnder(await readMounts(), join(dataDir, "storage")).map((m) => m.source);
    assert.equal(new Set(sources).size, ids.length, "one loop device each");
    await Promise.all(ids.map((id) => storage.release(id)));
    await assertNothingLeft(dataDir);
  });

  it("release is idempotent and cleans half-prepared state", async () => {
    await storage.release("never-prepared");
    const rootfs = await storage.prepare("twice", { lowerDir: lower, diskBytes: 32 * MiB });
    await storage.release("twice", rootfs);
    await storage.release("twice", rootfs);

    // A crash between attaching the loop and mounting it: an image, a loop device, no mount.
    const storageDir = join(dataDir, "storage", "sandboxes", "half");
    mkdirSync(join(storageDir, "disk"), { recursive: true });
    mkdirSync(join(dataDir, "sandboxes", "half", "rootfs"), { recursive: true });
    await execFileAsync("truncate", ["-s", "32M", join(storageDir, "disk.ext4")]);
    const { stdout } = await execFileAsync("losetup", ["--find", "--show", join(storageDir, "disk.ext4")]);
    assert.match(stdout, /^\/dev\/loop\d+/);
    await storage.release("half");
    await assertNothingLeft(dataDir);
  });

  it("release of a busy rootfs detaches it lazily; the loop device goes with its last user", async () => {
    const rootfs = await storage.prepare("busy", { lowerDir: lower, diskBytes: 32 * MiB });
    const image = String(rootfs.handle.image);
    const held = await open(join(rootfs.rootfs, "held"), "w"); // like a process the runtime failed to kill
    try {
      await storage.release("busy");
      assert.deepEqual(mountsUnder(await readMounts(), dataDir), [], "the mounts are gone from the tree");
      assert.ok(!existsSync(join(dataDir, "storage", "sandboxes", "busy")), "and the dirs");
      assert.ok(
        (await listLoopDevices()).some((d) => d.backingFile === image),
        "the open file still pins the disk",
      );
    } finally {
      await held.close();
    }
    for (let i = 0; i < 50 && (await listLoopDevices()).some((d) => d.backingFile === image); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await assertNothingLeft(dataDir);
  });

  it("refuses bad input before creating anything", async () => {
    const invalid = (err: unknown) => err instanceof NodeError && err.code === "invalid_argument";
    await assert.rejects(storage.prepare("Bad_Id", { lowerDir: lower, diskBytes: 32 * MiB }), invalid);
    await assert.rejects(storage.prepare("ok", { lowerDir: "relative", diskBytes: 32 * MiB }), invalid);
    await assert.rejects(storage.prepare("ok", { lowerDir: join(lower, "missing"), diskBytes: 32 * MiB }), invalid);
    await assert.rejects(storage.prepare("ok", { lowerDir: join(lower, "etc", "hostname"), diskBytes: 32 * MiB }), invalid);
    await assert.rejects(storage.prepare("ok", { lowerDir: lower, diskBytes: 1024 }), invalid);
    const host = await statfs(dataDir);
    await assert.rejects(
      storage.prepare("ok", { lowerDir: lower, diskBytes: Math.min(host.bavail * host.bsize * 2, 16 * 1024 ** 4) }),
      (err: unknown) => err instanceof NodeError && err.code === "unavailable",
    );
    const first = await storage.prepare("dup", { lowerDir: lower, diskBytes: 32 * MiB });
    await assert.rejects(storage.prepare("dup", { lowerDir: lower, diskBytes: 32 * MiB }), invalid);
    assert.ok(existsSync(join(first.rootfs, "etc", "hostname")), "the first prepare is untouched");
    await storage.release("dup");
    await assertNothingLeft(dataDir);
  });

  it("a restarted node adopts a sandbox (remounting after a reboot) and removes orphans", async () => {
    const kept: SandboxRootfs = JSON.parse(JSON.stringify(await storage.prepare("kept", { lowerDir: lower, diskBytes: 32 * MiB })));
    await writeFile(join(kept.rootfs, "state.txt"), "survives\n");
    await storage.prepare("orphan", { lowerDir: lower, diskBytes: 32 * MiB });

    const restarted = newManager();
    await restarted.init();
    await assert.rejects(restarted.adopt({ ...kept, handle: { kind: "zfs" } }), (err: unknown) => err instanceof NodeError && err.code === "invalid_argument");
    await restarted.adopt(kept);
    assert.equal(await readFile(join(kept.rootfs, "state.txt"), "utf8"), "survives\n");

    // As after a host reboot: nothing mounted, the image still on disk.
    await unmountUnder([kept.rootfs, String(kept.handle.diskDir)]);
    const rebooted = newManager();
    const start = process.hrtime.bigint();
    await rebooted.adopt(kept);
    console.log("# adopt with remount ms", elapsed(start).toFixed(1));
    assert.equal(await readFile(join(kept.rootfs, "state.txt"), "utf8"), "survives\n");
    assert.equal(await readFile(join(kept.rootfs, "etc", "hostname"), "utf8"), "template\n");

    assert.deepEqual(await rebooted.cleanupOrphans(new Set(["kept"])), ["orphan"]);
    assert.deepEqual(mountsUnder(await readMounts(), join(dataDir, "sandboxes", "orphan")), []);
    assert.ok(!existsSync(join(dataDir, "storage", "sandboxes", "orphan")));
    assert.deepEqual(await rebooted.cleanupOrphans(new Set()), [], "adopted sandboxes are never orphans");

    await rebooted.release("kept", kept);
    await assertNothingLeft(dataDir);
  });

  it("works on the real base template", { skip: existsSync(baseRootfs) ? undefined : `${baseRootfs} missing` }, async () => {
    const start = process.hrtime.bigint();
    const rootfs = await storage.prepare("debian", { lowerDir: baseRootfs, diskBytes: 10 * 1024 * MiB });
    console.log("# prepare ms (base template, 10 GiB disk)", elapsed(start).toFixed(1));
    try {
      assert.match(await readFile(join(rootfs.rootfs, "etc", "os-release"), "utf8"), /Debian/);
      assert.ok(readdirSync(join(rootfs.rootfs, "usr", "bin")).length > 50);
    } finally {
      const releaseStart = process.hrtime.bigint();
      await storage.release("debian");
      console.log("# release ms (base template)", elapsed(releaseStart).toFixed(1));
    }
  });

  it("destroy refuses while in use and leaves nothing mounted", async () => {
    const manager = newManager(); // the first one still counts the sandboxes the restart test handed over
    await manager.prepare("last", { lowerDir: lower, diskBytes: 32 * MiB });
    await assert.rejects(manager.destroy(), (err: unknown) => err instanceof NodeError && err.code === "unavailable");
    await manager.release("last");
    await manager.destroy();
    assert.deepEqual(mountsUnder(await readMounts(), dataDir), []);
    assert.ok(!existsSync(join(dataDir, "storage")), "storage dir removed");
  });
});
