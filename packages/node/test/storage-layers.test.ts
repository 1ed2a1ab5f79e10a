// Storage over a stack of layers (a template built in steps): each layer idmapped, whiteouts in
// an upper layer hide files below it, adopt remounts the whole stack, and a build step's
// writable layer can live outside the sandbox's disk. Real mounts and a real user namespace; root.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { lstat, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeError } from "../src/errors.js";
import { readMounts } from "../src/storage/mountinfo.js";
import { createStorageManager } from "../src/storage/index.js";
import { unmountUnder } from "../src/storage/unmount.js";
import { createNsHelper } from "../src/userns/index.js";

const helper = createNsHelper(fileURLToPath(new URL("../build/native/cove-ns", import.meta.url)));
const uidBase = 0x7fe0_0000;
const MiB = 1024 * 1024;

describe("storage over stacked layers", { skip: process.getuid?.() === 0 ? undefined : "needs root to mount" }, () => {
  let dataDir = "";
  let base = "";
  let layer1 = "";
  let layer2 = "";
  let pin = "";

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-storage-layers-");
    base = join(dataDir, "base");
    layer1 = join(dataDir, "l1");
    layer2 = join(dataDir, "l2");
    mkdirSync(join(base, "etc"), { recursive: true });
    writeFileSync(join(base, "etc", "os-release"), "ID=base\n");
    writeFileSync(join(base, "etc", "removed-later"), "x\n");
    mkdirSync(join(layer1, "app"), { recursive: true });
    writeFileSync(join(layer1, "app", "one"), "1\n");
    writeFileSync(join(layer1, "etc-shadowed"), "from l1\n");
    mkdirSync(join(layer2, "etc"), { recursive: true });
    writeFileSync(join(layer2, "etc", "os-release"), "ID=l2\n");
    execFileSync("mknod", [join(layer2, "etc", "removed-later"), "c", "0", "0"]);
    pin = join(dataDir, "userns-pin");
    await helper.createUserns(uidBase, 65_536, pin);
  });

  after(async () => {
    await unmountUnder([dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const idmapped of [false, true]) {
    it(`shows the layers merged, top wins, whiteouts hide (${idmapped ? "idmapped" : "shared ids"}); adopt remounts the stack`, async () => {
      const storage = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
      const id = idmapped ? "layerstest000000002" : "layerstest000000001";
      const idmap = idmapped ? { idmap: { usernsPath: pin, uidBase } } : {};
      const rootfs = await storage.prepare(id, { lowerDir: base, layers: [layer1, layer2], diskBytes: 64 * MiB, ...idmap });
      const check = async () => {
        assert.equal(readFileSync(join(rootfs.rootfs, "etc", "os-release"), "utf8"), "ID=l2\n");
        assert.equal(readFileSync(join(rootfs.rootfs, "app", "one"), "utf8"), "1\n");
        assert.ok(!existsSync(join(rootfs.rootfs, "etc", "removed-later")), "the whiteout in l2 hides the base's file");
        assert.equal((await stat(join(rootfs.rootfs, "app", "one"))).uid, idmapped ? uidBase : 0);
      };
      await check();
      await unmountUnder([rootfs.rootfs, join(dataDir, "storage", "sandboxes", id)]);
      const restarted = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
      await restarted.adopt(JSON.parse(JSON.stringify(rootfs)));
      await check();
      await restarted.release(id, rootfs);
      const left = (await readMounts()).filter((m) => m.mountPoint.startsWith(join(dataDir, "storage")) || m.mountPoint.startsWith(join(dataDir, "sandboxes")));
      assert.deepEqual(left, []);
      assert.equal(readFileSync(join(layer1, "app", "one"), "utf8"), "1\n", "the layers are never written");
    });
  }

  it("keeps a build step's writes in its own upper dir (whiteouts included), which release leaves", async () => {
    const storage = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
    const id = "layerstest000000003";
    const step = join(dataDir, "staging", "s1");
    mkdirSync(join(step, "diff"), { recursive: true });
    mkdirSync(join(step, "work"));
    const upper = { upperDir: join(step, "diff"), workDir: join(step, "work") };
    const rootfs = await storage.prepare(id, { lowerDir: base, layers: [layer1], upper, diskBytes: 64 * MiB, idmap: { usernsPath: pin, uidBase } });
    await writeFile(join(rootfs.rootfs, "app", "two"), "2\n");
    rmSync(join(rootfs.rootfs, "app", "one"));
    assert.equal((await stat(upper.upperDir)).uid, uidBase, "the step's upper belongs to the sandbox's root");
    await storage.release(id, rootfs);
    assert.deepEqual(readdirSync(join(upper.upperDir, "app")).sort(), ["one", "two"]);
    const whiteout = await lstat(join(upper.upperDir, "app", "one"));
    assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, "a deletion is a whiteout in the step's layer");
    assert.equal(readFileSync(join(upper.upperDir, "app", "two"), "utf8"), "2\n");
  });

  it("refuses a missing layer or one with a colon in its path", async () => {
    const storage = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
    const refused = (e: unknown) => e instanceof NodeError && e.code === "invalid_argument";
    await assert.rejects(storage.prepare("layerstest000000004", { lowerDir: base, layers: [join(dataDir, "nope")], diskBytes: 64 * MiB }), refused);
    await assert.rejects(storage.prepare("layerstest000000004", { lowerDir: base, layers: [join(dataDir, "a:b")], diskBytes: 64 * MiB }), refused);
  });
});
