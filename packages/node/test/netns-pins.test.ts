// A sandbox's network namespace pin must stay removable when something else on the host runs
// `ip netns add` later. iproute2 then binds /run/netns over itself unless it already is a mount
// point, which hid earlier pins under the bind: `ip netns del` failed with EBUSY and the sandbox
// could not be killed (found running E2B's SDK tests). cove-ns now makes /run/netns a shared
// mount point first, as iproute2 does. Runs in a private mount namespace, where /run/netns can
// be made a plain directory again without touching the host's.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const coveNs = fileURLToPath(new URL("../build/native/cove-ns", import.meta.url));
const uidBase = 0x7fe0_0000;

describe("cove-ns netns pins", { skip: process.getuid?.() === 0 ? undefined : "needs root" }, () => {
  const dir = mkdtempSync("/var/tmp/cove-netns-pins-");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("stay removable after a later `ip netns add` on a host where /run/netns was no mount point", async () => {
    const ours = `covepin${process.pid}a`;
    const theirs = `covepin${process.pid}b`;
    const script = `
      set -e
      while mountpoint -q /run/netns; do umount -l /run/netns; done
      trap 'set +e; ip netns del ${theirs} 2>/dev/null; ip netns del ${ours} 2>/dev/null; umount ${dir}/userns 2>/dev/null' EXIT
      "$0" userns ${uidBase} 65536 ${dir}/userns
      "$0" netns ${dir}/userns /run/netns/${ours}
      ip netns add ${theirs}
      ip netns del ${ours}
      test ! -e /run/netns/${ours}
      echo removed`;
    const { stdout } = await run("unshare", ["-m", "--propagation", "private", "sh", "-c", script, coveNs], { timeout: 30_000 }).catch(
      (err: { code?: number; stdout?: string; stderr?: string }) => {
        throw new Error(`exit ${err.code}: ${err.stdout} ${err.stderr}`);
      },
    );
    assert.equal(stdout.trim(), "removed");
  });
});
