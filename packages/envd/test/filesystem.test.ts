import assert from "node:assert/strict";
import { chmod, lstat, mkdir, mkdtemp, readlink, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FileNotFoundError, InvalidArgumentError } from "e2b";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

describe("envd filesystem service through the e2b SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    ensureTestUser();
    envd = await startEnvd();
    sdk = await connectSdk(envd);
    dir = await mkdtemp(join(tmpdir(), "cove-fs-"));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await sdk?.close();
    await envd?.close();
  });

  /** A fresh empty directory for one test. */
  let counter = 0;
  async function scratch(): Promise<string> {
    const path = join(dir, `t${counter++}`);
    await mkdir(path);
    return path;
  }

  it("lists a directory with depth 1 and 2, paths absolute, names sorted depth-first", async () => {
    const root = await scratch();
    await mkdir(join(root, "sub/deeper"), { recursive: true });
    await writeFile(join(root, "b.txt"), "bb");
    await writeFile(join(root, "sub/a.txt"), "a");
    await writeFile(join(root, "sub/deeper/c.txt"), "c");

    const one = await sdk.sandbox.files.list(root);
    assert.deepEqual(
      one.map((e) => [e.name, e.type, e.path]),
      [
        ["b.txt", "file", join(root, "b.txt")],
        ["sub", "dir", join(root, "sub")],
      ],
    );
    assert.equal(one[0]!.size, 2);

    const two = await sdk.sandbox.files.list(root, { depth: 2 });
    assert.deepEqual(
      two.map((e) => e.path),
      [join(root, "b.txt"), join(root, "sub"), join(root, "sub/a.txt"), join(root, "sub/deeper")],
    );
  });

  it("rejects listing a file as invalid argument and a missing dir as FileNotFoundError", async () => {
    const root = await scratch();
    await writeFile(join(root, "f"), "");
    await assert.rejects(sdk.sandbox.files.list(join(root, "f")), InvalidArgumentError);
    await assert.rejects(sdk.sandbox.files.list(join(root, "missing")), FileNotFoundError);
  });

  it("makeDir creates parents and returns true, then false when the directory exists", async () => {
    const root = await scratch();
    const target = join(root, "x/y/z");
    assert.equal(await sdk.sandbox.files.makeDir(target), true);
    assert.equal((await stat(target)).isDirectory(), true);
    assert.equal(await sdk.sandbox.files.makeDir(target), false);
  });

  it("renames a file, creating the destination's parents, and returns the new entry", async () => {
    const root = await scratch();
    await writeFile(join(root, "old.txt"), "hello");
    const entry = await sdk.sandbox.files.rename(join(root, "old.txt"), join(root, "new/place.txt"));
    assert.equal(entry.name, "place.txt");
    assert.equal(entry.path, join(root, "new/place.txt"));
    assert.equal(entry.type, "file");
    assert.equal(entry.size, 5);
    assert.equal(await sdk.sandbox.files.exists(join(root, "old.txt")), false);
    assert.equal(await sdk.sandbox.files.exists(join(root, "new/place.txt")), true);
  });

  it("removes a file and a non-empty directory", async () => {
    const root = await scratch();
    await writeFile(join(root, "f.txt"), "x");
    await mkdir(join(root, "d/e"), { recursive: true });
    await writeFile(join(root, "d/e/g.txt"), "y");
    await sdk.sandbox.files.remove(join(root, "f.txt"));
    await sdk.sandbox.files.remove(join(root, "d"));
    assert.equal(await sdk.sandbox.files.exists(join(root, "f.txt")), false);
    assert.equal(await sdk.sandbox.files.exists(join(root, "d")), false);
  });

  it("reports missing paths as FileNotFoundError for getInfo, list and rename", async () => {
    const missing = join(dir, "does-not-exist");
    await assert.rejects(sdk.sandbox.files.getInfo(missing), (err: Error) => {
      assert.ok(err instanceof FileNotFoundError);
      assert.match(err.message, /path '.*does-not-exist' does not exist/);
      return true;
    });
    await assert.rejects(sdk.sandbox.files.list(missing), FileNotFoundError);
    await assert.rejects(sdk.sandbox.files.rename(missing, join(dir, "elsewhere/x")), FileNotFoundError);
    // A failed rename must not leave the destination's parents behind.
    assert.equal(await sdk.sandbox.files.exists(join(dir, "elsewhere")), false);
  });

  it("removing a missing path (or one below a missing directory) succeeds, as with E2B", async () => {
    await sdk.sandbox.files.remove(join(dir, "does-not-exist"));
    await sdk.sandbox.files.remove(join(dir, "no-such-dir/below/file.txt"));
    assert.equal(await sdk.sandbox.files.exists(join(dir, "does-not-exist")), false);
  });

  it("getInfo of a file: type, size, mode, permissions, owner, group, modifiedTime", async () => {
    const root = await scratch();
    const file = join(root, "info.txt");
    await writeFile(file, "12345678");
    await chmod(file, 0o640);
    await utimes(file, new Date("2024-01-02T03:04:05.000Z"), new Date("2024-01-02T03:04:05.000Z"));
    const info = await sdk.sandbox.files.getInfo(file);
    assert.equal(info.name, "info.txt");
    assert.equal(info.type, "file");
    assert.equal(info.path, file);
    assert.equal(info.size, 8);
    assert.equal(info.mode, 0o640);
    assert.equal(info.permissions, "-rw-r-----");
    assert.equal(info.owner, "root");
    assert.equal(info.group, "root");
    assert.equal(info.modifiedTime?.toISOString(), "2024-01-02T03:04:05.000Z");
    assert.equal(info.symlinkTarget, undefined);
    assert.equal(info.metadata, undefined);
  });

  it("getInfo of a directory", async () => {
    const root = await scratch();
    await chmod(root, 0o755);
    const info = await sdk.sandbox.files.getInfo(root);
    assert.equal(info.type, "dir");
    assert.equal(info.mode, 0o755);
    assert.equal(info.permissions, "drwxr-xr-x");
    assert.equal(info.owner, "root");
  });

  it("getInfo of a symlink reports the target's type and mode plus symlinkTarget; a broken link has no type", async () => {
    const root = await scratch();
    await writeFile(join(root, "target.txt"), "abc");
    await chmod(join(root, "target.txt"), 0o600);
    await symlink("target.txt", join(root, "link"));
    await symlink("nowhere", join(root, "broken"));

    const info = await sdk.sandbox.files.getInfo(join(root, "link"));
    assert.equal(info.name, "link");
    assert.equal(info.type, "file");
    assert.equal(info.path, join(root, "link"));
    assert.equal(info.mode, 0o600);
    assert.equal(info.permissions, "Lrwxrwxrwx");
    assert.equal(info.symlinkTarget, join(root, "target.txt"));
    assert.equal(info.size, (await lstat(join(root, "link"))).size);

    const broken = await sdk.sandbox.files.getInfo(join(root, "broken"));
    assert.equal(broken.type, undefined); // FILE_TYPE_UNSPECIFIED
    assert.equal(broken.symlinkTarget, await readlink(join(root, "broken")));
    assert.equal(broken.permissions, "Lrwxrwxrwx");
    // list() drops entries without a type, as the SDK does for upstream envd.
    const names = (await sdk.sandbox.files.list(root)).map((e) => e.name);
    assert.deepEqual(names, ["link", "target.txt"]);
  });

  it("resolves relative and ~ paths against the user's home", async () => {
    const info = await sdk.sandbox.files.getInfo("~");
    assert.equal(info.path, "/root");
    const asUser = await sdk.sandbox.files.getInfo(".", { user: "user" });
    assert.equal(asUser.path, "/home/user");
    const slashed = await sdk.sandbox.files.getInfo(`${dir}/`);
    assert.equal(slashed.path, dir);
  });

  it("entries created for user `user` are owned by user", async () => {
    const uid = Number(execFileSync("id", ["-u", "user"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "user"], { encoding: "utf8" }));
    // Root-owned directories the user may enter and write in.
    await chmod(dir, 0o755);
    const root = await scratch();
    await chmod(root, 0o777);
    const made = join(root, "mine/nested");
    assert.equal(await sdk.sandbox.files.makeDir(made, { user: "user" }), true);
    for (const path of [join(root, "mine"), made]) {
      const s = await stat(path);
      assert.equal(s.uid, uid, path);
      assert.equal(s.gid, gid, path);
    }
    const info = await sdk.sandbox.files.getInfo(made, { user: "user" });
    assert.equal(info.owner, "user");
    assert.equal(info.group, "user");
    // The pre-existing parent keeps its owner.
    assert.equal((await stat(root)).uid, 0);

    await writeFile(join(root, "f"), "");
    await sdk.sandbox.files.rename(join(root, "f"), join(root, "moved/here/f"), { user: "user" });
    assert.equal((await stat(join(root, "moved"))).uid, uid);
    assert.equal((await stat(join(root, "moved/here"))).uid, uid);
  });

  it("makeDir over an existing file is an invalid argument", async () => {
    const root = await scratch();
    await writeFile(join(root, "file"), "");
    await assert.rejects(sdk.sandbox.files.makeDir(join(root, "file")), InvalidArgumentError);
    await assert.rejects(sdk.sandbox.files.makeDir(join(root, "file/below")), InvalidArgumentError);
  });
});
