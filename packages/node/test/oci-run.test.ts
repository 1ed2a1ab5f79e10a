// Runs real containers with crun and runc (whichever are installed) from a
// busybox rootfs and checks what the spec promises from the inside:
// seccomp is active, namespace creation is denied, caps and hostname are right.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, readdirSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { detectCgroupMode, detectOciRuntime, findOnPath, ociRunArgv, type OciRuntime, type OciRuntimeName } from "../src/runtime/container/host-detect.js";
import { buildOciSpec, sandboxCapabilities, type OciSpecOptions } from "../src/runtime/container/oci-spec.js";
import type { SeccompProfile } from "../src/runtime/container/seccomp.js";

const execFileAsync = promisify(execFile);
const busybox = "/bin/busybox"; // Debian's busybox-static: statically linked, so the rootfs needs nothing else
const cgroupParent = "cove-test";
const capBits: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_ADMIN: 21,
  CAP_AUDIT_WRITE: 29,
};

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to run OCI containers";
  if (!existsSync(busybox)) return `${busybox} missing (apt-get install busybox-static)`;
  return undefined;
}

const script = 'grep -E "^(Seccomp|CapEff):" /proc/self/status; echo host=$(hostname); unshare -U true; echo rc=$?';

interface RunResult {
  stdout: string;
  stderr: string;
}

/** One bundle dir with a busybox rootfs; runs it in the foreground and cleans up by id. */
async function runOnce(runtime: OciRuntime, id: string, spec: Partial<OciSpecOptions>): Promise<RunResult> {
  const bundle = mkdtempSync(join(tmpdir(), "cove-oci-"));
  const mode = detectCgroupMode();
  try {
    const rootfs = join(bundle, "rootfs");
    for (const dir of ["bin", "proc", "dev", "sys", "tmp"]) mkdirSync(join(rootfs, dir), { recursive: true });
    copyFileSync(busybox, join(rootfs, "bin/busybox"));
    for (const applet of ["sh", "true", "cat", "grep", "id", "echo", "hostname", "unshare"]) {
      symlinkSync("busybox", join(rootfs, "bin", applet));
    }
    const config = buildOciSpec({
      id,
      args: ["/bin/sh", "-c", script],
      rootfs: "rootfs",
      readonlyRoot: true,
      cgroupsPath: `/${cgroupParent}/${id}`,
      limits: { pids: 64 },
      ...spec,
    });
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2));
    const [cmd, ...args] = ociRunArgv(runtime, mode, ["run", "--bundle", bundle, id]);
    assert.ok(cmd);
    try {
      const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: 30_000 });
      return { stdout, stderr };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${runtime.name} run ${id} failed: ${e.message}\nstdout: ${e.stdout ?? ""}\nstderr: ${e.stderr ?? ""}`);
    }
  } finally {
    await execFileAsync(runtime.path, ["delete", "-f", id]).catch(() => undefined); // foreground run usually deleted it already
    removeCgroups(id);
    rmSync(bundle, { recursive: true, force: true });
  }
}

/** Removes this test's cgroup directories for `id` (v1 per controller, or the v2 one). */
function removeCgroups(id: string): void {
  const root = "/sys/fs/cgroup";
  const candidates = [join(root, cgroupParent, id)];
  for (const entry of readdirSync(root)) candidates.push(join(root, entry, cgroupParent, id));
  for (const dir of candidates) {
    try {
      if (existsSync(dir)) rmdirSync(dir);
    } catch {
      // busy or gone; nothing else we may remove
    }
  }
}

function removeEmptyCgroupParents(): void {
  const root = "/sys/fs/cgroup";
  for (const dir of [join(root, cgroupParent), ...readdirSync(root).map((e) => join(root, e, cgroupParent))]) {
    try {
      if (existsSync(dir)) rmdirSync(dir); // fails (and is left) if another sandbox still uses it
    } catch {
      // not empty or not ours to remove
    }
  }
}

const reason = skipReason();
if (reason) console.log(`# oci-run: skipped: ${reason}`);

describe("OCI sandbox spec on a real runtime", { skip: reason }, () => {
  after(removeEmptyCgroupParents);

  for (const name of ["crun", "runc"] as OciRuntimeName[]) {
    const missing = findOnPath(name) ? undefined : `${name} not installed`;
    if (missing) console.log(`# oci-run: skipped ${name}: ${missing}`);

    describe(name, { skip: missing }, () => {
      const id = (suffix: string) => `cove-t-${name}-${process.pid}-${suffix}-${Math.random().toString(36).slice(2, 8)}`;
      const runtime = async () => {
        const rt = await detectOciRuntime(name);
        assert.equal(rt.name, name);
        return rt;
      };

      it("runs with seccomp on, the minimal caps, hostname = id, and no userns creation", async () => {
        const rt = await runtime();
        const sandboxId = id("main");
        const { stdout } = await runOnce(rt, sandboxId, {});
        assert.match(stdout, /^Seccomp:\s+2$/m, stdout);
        const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(stdout)?.[1];
        assert.ok(capEff, stdout);
        const expected = sandboxCapabilities.reduce((mask, cap) => mask | (1n << BigInt(capBits[cap] ?? 63)), 0n);
        assert.equal(BigInt(`0x${capEff}`), expected);
        assert.equal(BigInt(`0x${capEff}`) & (1n << 13n), 0n, "NET_RAW");
        assert.equal(BigInt(`0x${capEff}`) & (1n << 21n), 0n, "SYS_ADMIN");
        assert.match(stdout, new RegExp(`^host=${sandboxId}$`, "m"));
        const rc = /^rc=(\d+)$/m.exec(stdout)?.[1];
        assert.ok(rc !== undefined && rc !== "0", `unshare -U should fail: ${stdout}`);
      });

      it("control: without the seccomp profile unshare -U succeeds, so the denial above is seccomp's", async () => {
        const rt = await runtime();
        const allowAll: SeccompProfile = { defaultAction: "SCMP_ACT_ALLOW", architectures: [], syscalls: [] };
        const { stdout } = await runOnce(rt, id("ctl"), { seccomp: allowAll });
        const rc = /^rc=(\d+)$/m.exec(stdout)?.[1];
        if (rc !== "0") {
          // e.g. user.max_user_namespaces=0 on this host: the control proves nothing, say so
          console.log(`# oci-run: control inconclusive, unshare -U fails even without seccomp: ${stdout}`);
          return;
        }
        assert.equal(rc, "0");
      });
    });
  }
});
