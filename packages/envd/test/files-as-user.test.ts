// File operations made for a request have exactly the requesting user's
// permissions (decision 0011): envd runs as root, but the kernel must check
// every file system call against the user's uid, gid and supplementary groups.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SandboxError } from "e2b";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

/** The SDK's error for a refusal: HTTP 403 on /files, Connect permission_denied on RPCs. */
function isPermissionError(err: unknown): boolean {
  assert.ok(err instanceof SandboxError, `expected a SandboxError, got ${String(err)}`);
  assert.match(err.message, /^(403: |7: \[permission_denied\] )permission denied for /);
  return true;
}

function idOf(flag: "-u" | "-g", user: string): number {
  return Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
}

describe("file operations run with the requesting user's permissions", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let work: string;
  let uid: number;
  let gid: number;
  // A supplementary group only `user` belongs to.
  const group = `covefs${process.pid}`;
  let groupId: number;
  // What a symlink escape would create; removed in after() in case a broken envd made it.
  const etcEscape = `/etc/cove-escape-${process.pid}`;
  const tmpFile = `/tmp/cove-as-user-${process.pid}.txt`;
  const tmpRootFile = `/tmp/cove-as-root-${process.pid}.txt`;

  before(async () => {
    ensureTestUser();
    uid = idOf("-u", "user");
    gid = idOf("-g", "user");
    execFileSync("groupadd", [group]);
    execFileSync("usermod", ["--append", "--groups", group, "user"]);
    groupId = Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);

    // work/ (root 0755)
    //   locked/        root 0755, with file.txt root 0644
    //   private/       root 0700, with inside.txt
    //   secret.txt     root 0600
    //   mine/          user 0755, with escape -> /etc and victim -> locked/file.txt
    //   team/          root:group 0770
    //   sticky/        root 1777, with roots.txt root 0666
    work = await mkdtemp("/tmp/cove-as-user-");
    await chmod(work, 0o755);
    await mkdir(join(work, "locked"), { mode: 0o755 });
    await writeFile(join(work, "locked/file.txt"), "root's");
    await mkdir(join(work, "private"), { mode: 0o700 });
    await writeFile(join(work, "private/inside.txt"), "hidden");
    await writeFile(join(work, "secret.txt"), "top secret", { mode: 0o600 });
    await mkdir(join(work, "mine"));
    await chown(join(work, "mine"), uid, gid);
    await symlink("/etc", join(work, "mine/escape"));
    await symlink(join(work, "locked/file.txt"), join(work, "mine/victim"));
    await mkdir(join(work, "team"));
    await chown(join(work, "team"), 0, groupId);
    await chmod(join(work, "team"), 0o770);
    await mkdir(join(work, "sticky"));
    await chmod(join(work, "sticky"), 0o1777);
    await writeFile(join(work, "sticky/roots.txt"), "root's");
    await chmod(join(work, "sticky/roots.txt"), 0o666);

    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });

  after(async () => {
    await sdk?.close();
    await envd?.close();
    if (work) await rm(work, { recursive: true, force: true });
    await rm(etcEscape, { force: true });
    await rm(tmpFile, { force: true });
    await rm(tmpRootFile, { force: true });
    execFileSync("groupdel", [group], { stdio: "ignore" });
  });

  it("refuses a write into a root-owned 0755 directory; a missing parent there is made for the user, never through a symlink", async () => {
    const path = join(work, "locked/new.txt");
    await assert.rejects(sdk.sandbox.files.write(path, "nope", { user: "user" }), isPermissionError);
    assert.equal(existsSync(path), false);
    // A missing parent there is made for the user, as E2B's envd does (its SDK tests write /0/…).
    await sdk.sandbox.files.write(join(work, "locked/a/b/c.txt"), "made", { user: "user" });
    for (const made of ["locked/a", "locked/a/b", "locked/a/b/c.txt"])
      assert.deepEqual(((s) => [s.uid, s.gid])(await stat(join(work, made))), [uid, gid], made);
    // But never through a symlink of the user's, and makeDir stays the user's own mkdir.
    await assert.rejects(sdk.sandbox.files.write(join(work, "mine/escape", `cove-escape-${process.pid}`, "x.txt"), "x", { user: "user" }), isPermissionError);
    assert.equal(existsSync(etcEscape), false);
    await assert.rejects(sdk.sandbox.files.makeDir(join(work, "locked/by-make-dir"), { user: "user" }), isPermissionError);
    await rm(join(work, "locked/a"), { recursive: true });
    // Root still may.
    await sdk.sandbox.files.write(join(work, "locked/by-root.txt"), "root", { user: "root" });
    assert.equal(await readFile(join(work, "locked/by-root.txt"), "utf8"), "root");
  });

  it("refuses reading a root file of mode 0600 and one in a directory the user cannot enter", async () => {
    await assert.rejects(sdk.sandbox.files.read(join(work, "secret.txt"), { user: "user" }), isPermissionError);
    await assert.rejects(sdk.sandbox.files.read(join(work, "private/inside.txt"), { user: "user" }), isPermissionError);
    await assert.rejects(sdk.sandbox.files.getInfo(join(work, "private/inside.txt"), { user: "user" }), isPermissionError);
    assert.equal(await sdk.sandbox.files.read(join(work, "secret.txt"), { user: "root" }), "top secret");
    assert.equal(await sdk.sandbox.files.read(join(work, "private/inside.txt"), { user: "root" }), "hidden");
  });

  it("writes in /tmp as the user, the file belongs to the user, but root's files there stay root's", async () => {
    await sdk.sandbox.files.write(tmpFile, "in tmp", { user: "user" });
    const info = await stat(tmpFile);
    assert.deepEqual([info.uid, info.gid], [uid, gid]);
    assert.equal(await sdk.sandbox.files.read(tmpFile, { user: "user" }), "in tmp");
    // Overwriting it keeps it the user's; a root file of mode 0644 in the sticky /tmp is refused.
    await sdk.sandbox.files.write(tmpFile, "again", { user: "user" });
    assert.equal((await stat(tmpFile)).uid, uid);
    await writeFile(tmpRootFile, "root's", { mode: 0o644 });
    await assert.rejects(sdk.sandbox.files.write(tmpRootFile, "mine now", { user: "user" }), isPermissionError);
    assert.equal(await readFile(tmpRootFile, "utf8"), "root's");
  });

  it("does not let a symlink in the user's own directory reach /etc or a root file", async () => {
    await assert.rejects(sdk.sandbox.files.write(join(work, "mine/escape", `cove-escape-${process.pid}`), "x", { user: "user" }), isPermissionError);
    assert.equal(existsSync(etcEscape), false);
    await assert.rejects(sdk.sandbox.files.write(join(work, "mine/victim"), "overwritten", { user: "user" }), isPermissionError);
    assert.equal(await readFile(join(work, "locked/file.txt"), "utf8"), "root's");
    await assert.rejects(sdk.sandbox.files.makeDir(join(work, "mine/escape", `cove-escape-${process.pid}`), { user: "user" }), isPermissionError);
    assert.equal(existsSync(etcEscape), false);
  });

  it("grants what a supplementary group allows, and nothing for a group the user is not in", async () => {
    const path = join(work, "team/shared.txt");
    await sdk.sandbox.files.write(path, "team work", { user: "user" });
    const info = await stat(path);
    assert.equal(info.uid, uid);
    assert.equal(await sdk.sandbox.files.read(path, { user: "user" }), "team work");
    assert.deepEqual(
      (await sdk.sandbox.files.list(join(work, "team"), { user: "user" })).map((entry) => entry.name),
      ["shared.txt"],
    );
    // The same directory for a group without `user`: refused.
    await chown(join(work, "team"), 0, 0);
    try {
      await assert.rejects(sdk.sandbox.files.write(join(work, "team/other.txt"), "x", { user: "user" }), isPermissionError);
      await assert.rejects(sdk.sandbox.files.read(path, { user: "user" }), isPermissionError);
    } finally {
      await chown(join(work, "team"), 0, groupId);
    }
  });

  it("refuses makeDir, rename, remove and list where the user has no permission", async () => {
    await assert.rejects(sdk.sandbox.files.makeDir(join(work, "locked/sub"), { user: "user" }), isPermissionError);
    assert.equal(existsSync(join(work, "locked/sub")), false);

    await assert.rejects(sdk.sandbox.files.rename(join(work, "locked/file.txt"), join(work, "mine/stolen.txt"), { user: "user" }), isPermissionError);
    assert.equal(existsSync(join(work, "locked/file.txt")), true);

    await assert.rejects(sdk.sandbox.files.remove(join(work, "locked/file.txt"), { user: "user" }), isPermissionError);
    await assert.rejects(sdk.sandbox.files.remove(join(work, "locked"), { user: "user" }), isPermissionError);
    assert.equal(await readFile(join(work, "locked/file.txt"), "utf8"), "root's");

    await assert.rejects(sdk.sandbox.files.list(join(work, "private"), { user: "user" }), isPermissionError);

    // Root keeps full access.
    assert.equal(await sdk.sandbox.files.makeDir(join(work, "private/made"), { user: "root" }), true);
    await sdk.sandbox.files.rename(join(work, "private/made"), join(work, "private/moved"), { user: "root" });
    assert.ok((await sdk.sandbox.files.list(join(work, "private"), { user: "root" })).some((e) => e.name === "moved"));
    await sdk.sandbox.files.remove(join(work, "private/moved"), { user: "root" });
    assert.equal(existsSync(join(work, "private/moved")), false);
  });

  it("applies the sticky bit: no removing or renaming someone else's file, but writing it is allowed", async () => {
    const roots = join(work, "sticky/roots.txt");
    await assert.rejects(sdk.sandbox.files.remove(roots, { user: "user" }), isPermissionError);
    await assert.rejects(sdk.sandbox.files.rename(roots, join(work, "sticky/taken.txt"), { user: "user" }), isPermissionError);
    // The file itself is 0666: the user may rewrite it (in place, it cannot be replaced), and it stays root's.
    await sdk.sandbox.files.write(roots, "rewritten", { user: "user" });
    assert.equal(await readFile(roots, "utf8"), "rewritten");
    assert.equal((await stat(roots)).uid, 0);
  });

  it("refuses watching a directory the user cannot read", async () => {
    await assert.rejects(
      sdk.sandbox.files.watchDir(join(work, "private"), () => undefined, { user: "user" }),
      isPermissionError,
    );
  });
});
