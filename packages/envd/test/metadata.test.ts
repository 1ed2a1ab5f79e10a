// File metadata (user.e2b.* extended attributes) through the official SDK:
// upload headers in, EntryInfo.metadata out, as E2B's envd does.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { type FilesystemEvent, InvalidArgumentError } from "e2b";
import { connectSdk, ensureTestUser, type SdkHandle, startEnvd, type TestEnvd } from "./helpers/envd.js";

/** Sets an xattr from another program, with the setxattr(2) call `setfattr -n name -v value` makes; false without python3. */
function setXattrOutside(path: string, name: string, value: string): boolean {
  return spawnSync("python3", ["-c", "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())", path, name, value]).status === 0;
}

/** An xattr as another program reads it, or undefined. */
function getXattrOutside(path: string, name: string): string | undefined {
  const res = spawnSync("python3", ["-c", "import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2]).decode())", path, name], { encoding: "utf8" });
  return res.status === 0 ? res.stdout : undefined;
}

describe("envd file metadata through the SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    ensureTestUser();
    dir = await mkdtemp(join(tmpdir(), "cove-metadata-"));
    await chmod(dir, 0o755);
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("stores metadata from multipart and octet-stream writes and reports it from write, getInfo and list", async () => {
    const metadata = { author: "mish", purpose: "upload" };
    for (const useOctetStream of [false, true]) {
      const path = join(dir, `meta-${useOctetStream}.txt`);
      const info = await sdk.sandbox.files.write(path, "content", { metadata, useOctetStream });
      assert.deepEqual(info.metadata, metadata);
      assert.deepEqual((await sdk.sandbox.files.getInfo(path)).metadata, metadata);
      const listed = (await sdk.sandbox.files.list(dir)).find((e) => e.path === path);
      assert.deepEqual(listed?.metadata, metadata);
      if (spawnSync("python3", ["--version"]).status === 0) assert.equal(getXattrOutside(path, "user.e2b.author"), "mish");
    }
  });

  it("lowercases keys, applies one set to every file of writeFiles, and keeps it across a rename", async () => {
    const infos = await sdk.sandbox.files.writeFiles(
      [
        { path: join(dir, "multi-1.txt"), data: "1" },
        { path: join(dir, "multi-2.txt"), data: "2" },
      ],
      { metadata: { Source: "Test-Suite" } },
    );
    assert.equal(infos.length, 2);
    for (const info of infos) {
      assert.deepEqual(info.metadata, { source: "Test-Suite" });
      assert.deepEqual((await sdk.sandbox.files.getInfo(info.path)).metadata, { source: "Test-Suite" });
    }
    const renamed = await sdk.sandbox.files.rename(join(dir, "multi-1.txt"), join(dir, "renamed.txt"));
    assert.deepEqual(renamed.metadata, { source: "Test-Suite" });
  });

  it("an overwrite replaces the whole set; a file without metadata reports none", async () => {
    const path = join(dir, "overwrite.txt");
    await sdk.sandbox.files.write(path, "first", { metadata: { author: "mish", stage: "one" } });
    const second = await sdk.sandbox.files.write(path, "second", { metadata: { stage: "two" } });
    assert.deepEqual(second.metadata, { stage: "two" });
    assert.deepEqual((await sdk.sandbox.files.getInfo(path)).metadata, { stage: "two" });
    const third = await sdk.sandbox.files.write(path, "third");
    assert.equal(third.metadata, undefined);
    assert.equal((await sdk.sandbox.files.getInfo(path)).metadata, undefined);
    const plain = join(dir, "plain.txt");
    await writeFile(plain, "x");
    assert.equal((await sdk.sandbox.files.getInfo(plain)).metadata, undefined);
    assert.equal((await sdk.sandbox.files.getInfo(dir)).metadata, undefined);
  });

  it("an in-place write (the user may write the file but not its directory) replaces metadata too", async () => {
    const locked = join(dir, "locked-dir");
    await mkdir(locked);
    const path = join(locked, "shared.txt");
    await sdk.sandbox.files.write(path, "v1", { metadata: { a: "1", b: "2" }, user: "root" });
    const uid = Number(execFileSync("id", ["-u", "user"], { encoding: "utf8" }));
    await chown(path, uid, 0);
    const info = await sdk.sandbox.files.write(path, "v2", { metadata: { b: "3" }, user: "user" });
    assert.deepEqual(info.metadata, { b: "3" });
    assert.deepEqual((await sdk.sandbox.files.getInfo(path)).metadata, { b: "3" });
    assert.equal((await stat(path)).uid, uid, "written in place, not replaced");
  });

  it("shows metadata a user set with setfattr, and watch entries carry it", async (t) => {
    const path = join(dir, "outside.txt");
    await writeFile(path, "x");
    if (!setXattrOutside(path, "user.e2b.author", "mish")) return t.skip("python3 is not installed");
    assert.deepEqual((await sdk.sandbox.files.getInfo(path)).metadata, { author: "mish" });

    const watched = join(dir, "watched");
    await mkdir(watched);
    const events: FilesystemEvent[] = [];
    const handle = await sdk.sandbox.files.watchDir(watched, (e) => void events.push(e), { includeEntry: true });
    try {
      await sdk.sandbox.files.write(join(watched, "w.txt"), "x", { metadata: { tag: "watched" } });
      for (let waited = 0; !events.some((e) => e.type === "write"); waited += 20) {
        if (waited > 10_000) assert.fail("no write event");
        await sleep(20);
      }
      assert.deepEqual(events.find((e) => e.type === "write")?.entry?.metadata, { tag: "watched" });
    } finally {
      await handle.stop();
    }
  });

  it("the SDK refuses keys and values a header cannot carry before sending anything", async () => {
    const path = join(dir, "invalid.txt");
    await assert.rejects(sdk.sandbox.files.write(path, "x", { metadata: { "bad key": "v" } }), InvalidArgumentError);
    await assert.rejects(stat(path), { code: "ENOENT" });
  });
});

describe("envd file metadata on a filesystem without user xattrs", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let mountPoint: string;
  let mounted = false;
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), "cove-ramfs-"));
    // ramfs has no xattr support at all, like tmpfs before Linux 6.6.
    mounted = spawnSync("mount", ["-t", "ramfs", "cove-test-ramfs", mountPoint]).status === 0;
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    if (mounted) spawnSync("umount", [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  it("refuses a write that asks for metadata with a clear error and keeps the old file; reading and plain writes work", async (t) => {
    if (!mounted) return t.skip("cannot mount a ramfs here (needs root and CAP_SYS_ADMIN)");
    const path = join(mountPoint, "f.txt");
    await sdk.sandbox.files.write(path, "old");
    for (const useOctetStream of [false, true]) {
      await assert.rejects(sdk.sandbox.files.write(path, "new", { metadata: { k: "v" }, useOctetStream }), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.match(err.message, /file metadata is not supported by the filesystem of '.*f\.txt'/);
        return true;
      });
    }
    assert.equal(await sdk.sandbox.files.read(path), "old");
    assert.deepEqual(
      (await sdk.sandbox.files.list(mountPoint)).map((e) => e.name),
      ["f.txt"],
      "no temp file left behind",
    );
    const info = await sdk.sandbox.files.write(path, "plain");
    assert.equal(info.metadata, undefined);
    assert.equal((await sdk.sandbox.files.getInfo(path)).metadata, undefined);
    assert.equal(await sdk.sandbox.files.read(path), "plain");
  });
});
