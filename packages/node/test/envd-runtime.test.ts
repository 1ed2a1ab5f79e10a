// The envd runtime every sandbox sees at /.cove is the node's own read-only copy: no inode shared
// with the build tree (a write through one would change the other), named by the content of
// every file. Writing to /.cove from inside a sandbox is tested in host-files.test.ts.
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { pinEnvdRuntime } from "../src/envd-runtime.js";
import { envdRuntimeDir, skipReason } from "./helpers/node-fixture.js";

const reason = skipReason();

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f)));
}

describe("pinned envd runtime", { skip: reason }, () => {
  let work: string;
  let source: string;
  let dataDir: string;
  const nothingInUse = async () => false;

  before(() => {
    work = mkdtempSync("/var/tmp/cove-envd-pin-");
    source = join(work, "source");
    dataDir = join(work, "data");
    mkdirSync(join(source, "lib"), { recursive: true });
    mkdirSync(join(source, "node_modules", "pty"), { recursive: true });
    writeFileSync(join(source, "envd.js"), "console.log('envd')\n");
    writeFileSync(join(source, "node"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(join(source, "lib", "libc.so.6"), "libc v1");
    writeFileSync(join(source, "node_modules", "pty", "pty.node"), "addon v1");
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is a copy: new inodes with one link each, root-owned, files 0444/0555, dirs 0555", async () => {
    const pinned = await pinEnvdRuntime(source, dataDir, nothingInUse);
    const files = walk(pinned);
    assert.equal(files.length, walk(source).length, "every entry is copied");
    for (const path of files) {
      const st = statSync(path);
      const src = statSync(join(source, relative(pinned, path)));
      assert.ok(st.ino !== src.ino || st.dev !== src.dev, `${path} shares its inode with the source`);
      assert.equal(st.uid, 0, path);
      if (st.isDirectory()) {
        assert.equal(st.mode & 0o7777, 0o555, path);
      } else {
        assert.equal(st.nlink, 1, `${path} has other links`);
        assert.equal(st.mode & 0o7777, src.mode & 0o100 ? 0o555 : 0o444, path);
      }
    }
    assert.equal(statSync(pinned).mode & 0o7777, 0o555);
  });

  it("a change in any file, not only envd.js or node's size, gives a new directory; the old one goes", async () => {
    const first = await pinEnvdRuntime(source, dataDir, nothingInUse);
    assert.equal(await pinEnvdRuntime(source, dataDir, nothingInUse), first, "same content, same directory");
    writeFileSync(join(source, "lib", "libc.so.6"), "libc v2"); // same size
    const second = await pinEnvdRuntime(source, dataDir, nothingInUse);
    assert.notEqual(second, first);
    writeFileSync(join(source, "node_modules", "pty", "pty.node"), "addon v2");
    const third = await pinEnvdRuntime(source, dataDir, async (dir) => dir === second);
    assert.notEqual(third, second);
    chmodSync(join(source, "envd.js"), 0o755);
    const fourth = await pinEnvdRuntime(source, dataDir, nothingInUse);
    assert.notEqual(fourth, third, "the executable bit counts");
    assert.deepEqual(readdirSync(join(dataDir, "runtime")), [fourth.split("/").pop()]);
  });

  it("pins the real build", async () => {
    const real = join(work, "real");
    cpSync(envdRuntimeDir, real, { recursive: true });
    const pinned = await pinEnvdRuntime(real, dataDir, nothingInUse);
    const envd = statSync(join(pinned, "envd.js"));
    assert.equal(envd.nlink, 1);
    assert.notEqual(envd.ino, statSync(join(real, "envd.js")).ino);
    assert.equal(statSync(join(pinned, "node")).mode & 0o7777, 0o555);
  });
});
