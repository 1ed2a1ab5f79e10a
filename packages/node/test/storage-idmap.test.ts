// Storage for a sandbox with its own user namespace: the template is mounted idmapped as the
// overlay's lower layer, the writable layer belongs to the mapped ids, and adopt remounts both.
// Real mounts and a real user namespace made by the node's cove-ns helper; run as root.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readMounts } from "../src/storage/mountinfo.js";
import { createStorageManager } from "../src/storage/index.js";
import { unmountUnder } from "../src/storage/unmount.js";
import { createNsHelper } from "../src/userns/index.js";

const helper = createNsHelper(fileURLToPath(new URL("../build/native/cove-ns", import.meta.url)));
const uidBase = 0x7ff0_0000;
const MiB = 1024 * 1024;

describe("storage with an idmapped template", { skip: process.getuid?.() === 0 ? undefined : "needs root to mount" }, () => {
  let dataDir = "";
  let lower = "";
  let pin = "";

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-storage-idmap-");
    lower = join(dataDir, "template");
    mkdirSync(join(lower, "etc"), { recursive: true });
    writeFileSync(join(lower, "etc", "os-release"), "ID=test\n");
    pin = join(dataDir, "userns-pin");
    await helper.createUserns(uidBase, 65_536, pin);
  });

  after(async () => {
    await unmountUnder([dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the template owned by the sandbox's root, writes as the mapped ids, and adopt remounts it", async () => {
    const storage = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
    const id = "idmaptest0000000001";
    const rootfs = await storage.prepare(id, { lowerDir: lower, diskBytes: 64 * MiB, idmap: { usernsPath: pin, uidBase } });
    const templateFile = await stat(join(rootfs.rootfs, "etc", "os-release"));
    assert.equal(templateFile.uid, uidBase, "a root-owned template file appears owned by the sandbox's root");
    assert.equal((await stat(rootfs.rootfs)).uid, uidBase, "the writable layer's root belongs to the sandbox's root");
    assert.equal((await stat(rootfs.filesDir)).uid, uidBase);
    assert.equal((await stat(lower)).uid, 0, "the template itself is unchanged");
    const lowerMount = (await readMounts()).find((m) => m.mountPoint === join(dataDir, "storage", "sandboxes", id, "lower"));
    assert.ok(lowerMount, "the idmapped template is mounted in the sandbox's storage");

    // A crash or an operator unmounted everything: adopt puts back the idmapped lower too.
    await unmountUnder([rootfs.rootfs, join(dataDir, "storage", "sandboxes", id)]);
    const restarted = createStorageManager({ dataDir, idmapMount: helper.idmapMount });
    await restarted.adopt(JSON.parse(JSON.stringify(rootfs)));
    assert.equal((await stat(join(rootfs.rootfs, "etc", "os-release"))).uid, uidBase);
    await restarted.release(id, rootfs);
    const left = (await readMounts()).filter((m) => m.mountPoint.startsWith(join(dataDir, "storage")) || m.mountPoint.startsWith(join(dataDir, "sandboxes")));
    assert.deepEqual(left, []);
  });
});
