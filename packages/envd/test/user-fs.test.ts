// The cove-userfs addon switches credentials per pool thread only: the
// process keeps root's identity, and root's calls running at the same time on
// other threads never see the user's.
import assert from "node:assert/strict";
import { closeSync, constants, readFileSync } from "node:fs";
import { chmod, chown, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../src/config.js";
import { loadUserFs, type UserFs } from "../src/user-fs.js";

describe("cove-userfs addon", () => {
  let dir: string;
  let asUser: UserFs;
  let asRoot: UserFs;
  before(async () => {
    const factory = loadUserFs(loadConfig({}, {}).userFsAddon);
    // Ids that need not exist in /etc/passwd: the kernel only sees numbers.
    asUser = factory({ name: "nobody-test", uid: 64123, gid: 64123, groups: [64123], home: "/", shell: "/bin/sh" });
    asRoot = factory({ name: "root", uid: 0, gid: 0, groups: [0], home: "/root", shell: "/bin/sh" });
    dir = await mkdtemp("/tmp/cove-userfs-");
    await chmod(dir, 0o755);
    await writeFile(join(dir, "secret"), "s", { mode: 0o600 });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses the user what the kernel refuses, with Node-style codes", async () => {
    await assert.rejects(asUser.open(join(dir, "secret"), 0), { code: "EACCES" });
    await assert.rejects(asUser.mkdir(join(dir, "sub"), 0o755), { code: "EACCES" });
    await assert.rejects(asUser.stat(join(dir, "missing")), { code: "ENOENT" });
    assert.equal((await asRoot.stat(join(dir, "secret"))).kind, "file");
  });

  it("reads and writes extended attributes as the user, on paths without following symlinks and on descriptors", async () => {
    const own = join(dir, "own");
    await writeFile(own, "");
    await chown(own, 64123, 64123);
    await asUser.setxattr(own, "user.e2b.k", "v ✓");
    assert.deepEqual(await asUser.listxattr(own), ["user.e2b.k"]);
    assert.equal(await asUser.getxattr(own, "user.e2b.k"), "v ✓");
    await asUser.removexattr(own, "user.e2b.k");
    await assert.rejects(asUser.getxattr(own, "user.e2b.k"), { code: "ENODATA" });
    // The kernel checks write permission on the file: root's 0600 file is not the user's to tag.
    await assert.rejects(asUser.setxattr(join(dir, "secret"), "user.e2b.k", "v"), { code: "EACCES" });
    // A symlink's own attributes, not its target's (user.* cannot live on a link).
    await symlink(own, join(dir, "link"));
    await assert.rejects(asRoot.setxattr(join(dir, "link"), "user.e2b.k", "v"), { code: "EPERM" });
    assert.deepEqual(await asRoot.listxattr(own), []);
    const fd = await asUser.open(own, constants.O_WRONLY);
    try {
      await asUser.setxattr(fd, "user.e2b.via-fd", "1");
      assert.deepEqual(await asUser.listxattr(fd), ["user.e2b.via-fd"]);
      assert.equal(await asRoot.getxattr(own, "user.e2b.via-fd"), "1");
    } finally {
      closeSync(fd);
    }
  });

  it("leaves the process and root's concurrent calls untouched", async () => {
    const status = () =>
      readFileSync("/proc/self/status", "utf8")
        .match(/^(Uid|Gid|Groups):.*$/gm)
        ?.join("\n");
    const before = status();
    let rootFailures = 0;
    let userSuccesses = 0;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        i % 2 === 0
          ? readFile(join(dir, "secret")).catch(() => rootFailures++)
          : asUser.stat(join(dir, "secret")).then(
              () => userSuccesses++,
              () => undefined,
            ),
      ),
    );
    assert.equal(rootFailures, 0, "root's reads never ran with the user's credentials");
    assert.equal(userSuccesses, 500, "the user can stat a file in a directory it may search");
    assert.equal(status(), before);
  });
});
