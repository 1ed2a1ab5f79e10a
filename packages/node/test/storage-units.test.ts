// Pure parts of the storage module: mountinfo parsing, overlay options, input validation.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { parseMountinfo, mountsUnder } from "../src/storage/mountinfo.js";
import { overlayOptions } from "../src/storage/overlay.js";
import { sandboxPaths } from "../src/storage/paths.js";
import { validateDiskBytes, validateMountPath, validateSandboxId } from "../src/storage/validate.js";

describe("parseMountinfo", () => {
  const text = [
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
    "46 27 7:0 / /var/lib/cove/storage/sandboxes/a/disk rw,relatime shared:5 master:1 - ext4 /dev/loop0 rw,discard",
    "49 27 0:40 / /var/lib/cove/sandboxes/a/rootfs rw,relatime - overlay overlay rw,lowerdir=/t,upperdir=/u,workdir=/w",
    "50 27 0:41 / /mnt/with\\040space\\134x rw - tmpfs my\\040src rw",
    "garbage line",
    "",
  ].join("\n");
  const entries = parseMountinfo(text);

  it("reads mount point, type and source, skipping optional fields and junk", () => {
    assert.deepEqual(entries.slice(0, 3), [
      { mountPoint: "/", fsType: "ext4", source: "/dev/vda" },
      { mountPoint: "/var/lib/cove/storage/sandboxes/a/disk", fsType: "ext4", source: "/dev/loop0" },
      { mountPoint: "/var/lib/cove/sandboxes/a/rootfs", fsType: "overlay", source: "overlay" },
    ]);
    assert.equal(entries.length, 4);
  });

  it("unescapes octal escapes", () => {
    assert.deepEqual(entries[3], { mountPoint: "/mnt/with space\\x", fsType: "tmpfs", source: "my src" });
  });

  it("mountsUnder matches the dir and below, not siblings with the same prefix", () => {
    const more = parseMountinfo("1 1 0:1 / /d/ab rw - tmpfs t rw\n2 1 0:1 / /d/a rw - tmpfs t rw\n3 1 0:1 / /d/a/b rw - tmpfs t rw");
    assert.deepEqual(
      mountsUnder(more, "/d/a").map((e) => e.mountPoint),
      ["/d/a", "/d/a/b"],
    );
  });
});

describe("overlayOptions", () => {
  it("pins index, metacopy and redirect_dir off", () => {
    assert.equal(
      overlayOptions({ lowerDir: "/t/rootfs", upperDir: "/s/upper", workDir: "/s/work" }),
      "lowerdir=/t/rootfs,upperdir=/s/upper,workdir=/s/work,index=off,metacopy=off,redirect_dir=off",
    );
  });
});

describe("storage validation", () => {
  const rejects = (fn: () => void) => assert.throws(fn, (err: unknown) => err instanceof NodeError && err.code === "invalid_argument");

  it("sandbox ids", () => {
    for (const ok of ["a", "sbx-1", "0abc", "a".repeat(63)]) validateSandboxId(ok);
    for (const bad of ["", "-a", "A", "a_b", "a/b", "..", "a".repeat(64), "a b"]) rejects(() => validateSandboxId(bad));
  });

  it("mount paths refuse what overlayfs options would split on", () => {
    validateMountPath("/var/lib/cove/templates/base/rootfs", "p");
    for (const bad of ["relative/path", "/a,b", "/a:b", "/a\\b", "/a b", "/a\nb"]) rejects(() => validateMountPath(bad, "p"));
  });

  it("disk sizes", () => {
    validateDiskBytes(16 * 1024 * 1024);
    validateDiskBytes(10 * 1024 ** 3);
    for (const bad of [0, -1, 1.5, 1024 * 1024, Number.NaN, 2 ** 60]) rejects(() => validateDiskBytes(bad));
  });

  it("layout keeps storage's files apart from the caller's sandbox dir", () => {
    assert.deepEqual(sandboxPaths("/data", "sbx"), {
      storageDir: "/data/storage/sandboxes/sbx",
      image: "/data/storage/sandboxes/sbx/disk.ext4",
      diskDir: "/data/storage/sandboxes/sbx/disk",
      upperDir: "/data/storage/sandboxes/sbx/disk/upper",
      workDir: "/data/storage/sandboxes/sbx/disk/work",
      filesDir: "/data/storage/sandboxes/sbx/disk/files",
      lowerMount: "/data/storage/sandboxes/sbx/lower",
      sandboxDir: "/data/sandboxes/sbx",
      rootfs: "/data/sandboxes/sbx/rootfs",
    });
  });
});
