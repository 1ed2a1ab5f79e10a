import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readExtraCaCerts } from "../src/builds/ca-layer.js";
import { buildBaseTemplate, type BuildProgress } from "../src/templates/base-template.js";

// The base template takes minutes to build, so it is cached outside the
// checkout and reused by later runs on the same machine (CI included).
const dataDir = process.env.COVE_TEST_DATA_DIR ?? "/var/tmp/cove-test";
const isRoot = process.getuid?.() === 0;

describe("base template", { skip: isRoot ? false : "building a template needs root (debootstrap, chroot)" }, () => {
  it("builds (or reuses) a Debian tree with what the SDK's base template has", { timeout: 900_000 }, async () => {
    const progress: BuildProgress[] = [];
    const { manifest, dir } = await buildBaseTemplate({ dataDir, onProgress: (p) => progress.push(p) });
    const rootfs = join(dir, manifest.rootfs);
    for (const tool of [
      "bin/bash",
      "usr/bin/python3",
      "usr/bin/pip3",
      "usr/bin/node",
      "usr/bin/npm",
      "usr/bin/git",
      "usr/bin/curl",
      "usr/bin/sudo",
      "usr/bin/ps",
    ]) {
      assert.ok(existsSync(join(rootfs, tool)), `${tool} is missing`);
    }
    assert.ok(existsSync(join(rootfs, "etc/ssl/certs/ca-certificates.crt")));
    // The operator's extra CA certificates (here the host's local anchors, when it has any) are trusted.
    const extra = await readExtraCaCerts(process.env.COVE_EXTRA_CA_CERTS ?? "/usr/local/share/ca-certificates");
    if (extra) {
      const firstCert = extra.split("\n").find((l) => l !== "" && !l.startsWith("-----")) ?? "";
      assert.ok(readFileSync(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "utf8").includes(firstCert), "the system bundle lacks the extra CA");
      assert.equal(readFileSync(join(rootfs, "etc/ssl/certs/cove-extra-ca.pem"), "utf8"), extra);
      assert.equal(manifest.defaults.env.NODE_EXTRA_CA_CERTS, "/etc/ssl/certs/cove-extra-ca.pem");
      assert.equal(manifest.defaults.env.SSL_CERT_FILE, "/etc/ssl/certs/ca-certificates.crt");
    }
    assert.match(readFileSync(join(rootfs, "etc/passwd"), "utf8"), /^user:x:1000:1000::\/home\/user:\/bin\/bash$/m);
    assert.ok(statSync(join(rootfs, "home/user")).isDirectory());
    assert.equal(statSync(join(rootfs, "home/user")).uid, 1000);
    assert.deepEqual(manifest.defaults.user, "user");
    assert.deepEqual(manifest.defaults.workdir, "/home/user");
    // The tools run inside the tree, and `user` gets root through sudo without a password.
    const run = (...argv: string[]) =>
      execFileSync(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "--fork",
          "--",
          "sh",
          "-c",
          'r=$1; shift; mount -t proc proc "$r/proc" && exec chroot "$r" "$@"',
          "sh",
          rootfs,
          ...argv,
        ],
        { encoding: "utf8" },
      );
    assert.match(run("python3", "-c", "print(6*7)"), /^42$/m);
    assert.match(run("node", "-e", "console.log(process.version)"), /^v\d+\./m);
    assert.equal(run("su", "-s", "/bin/sh", "user", "-c", "sudo -n id -u").trim(), "0");
    if (progress.length > 0) {
      assert.deepEqual([...new Set(progress.map((p) => p.step))], [1, 2, 3, 4, 5], "progress covers every step in order");
    }

    const again = await buildBaseTemplate({ dataDir });
    assert.equal(again.reused, true, "a second build reuses the cached template");
    assert.equal(again.manifest.builtAt, manifest.builtAt);
  });
});
