// Baselines for sandbox creation: a bare `crun run` of /bin/true with the
// node's own OCI spec, and `podman run --rm --rootfs ... true`.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildOciSpec } from "../../packages/node/src/runtime/container/oci-spec.js";
import { detectCgroupMode, detectOciRuntime, ociRunArgv } from "../../packages/node/src/runtime/container/host-detect.js";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Runs argv to completion; resolves with its wall time in ms, rejects with its output on a non-zero exit. */
export function timeCommand(argv: readonly string[], timeoutMs = 60_000): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error("empty command");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"], timeout: timeoutMs });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${argv.join(" ")} exited ${code ?? signal}: ${stderr.trim().slice(-500)}`));
    });
  });
}

/** Best-effort removal of empty cgroup directories (children first) under every hierarchy. */
function removeCgroupTree(name: string): void {
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return;
  }
  for (const h of hierarchies) {
    const dir = join(CGROUP_ROOT, h, name);
    if (!existsSync(dir)) continue;
    const remove = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
      try {
        rmdirSync(d);
      } catch {
        // busy or already gone
      }
    };
    remove(dir);
  }
}

export interface CrunTrue {
  /** e.g. "crun 1.8.1 (hybrid cgroups: unshare wrapper)" */
  description: string;
  /** One `crun run` of /bin/true in a fresh container; ms. */
  runOnce(): Promise<number>;
  /** Deletes any container left by a failed run (by id) and the cgroup parent. */
  close(): Promise<void>;
}

/**
 * `crun run` (foreground) of /bin/true on `rootfs` with the node's OCI spec
 * (seccomp, masked paths, cgroup namespace, new empty netns), a read-only
 * root and a cgroup under a parent of our own; through the same argv builder
 * the node uses, so on a hybrid host it pays the same unshare wrapper.
 */
export async function crunTrue(rootfs: string, work: string): Promise<CrunTrue> {
  const mode = detectCgroupMode();
  const crun = await detectOciRuntime("crun", mode);
  if (crun.name !== "crun") throw new Error(`crun not found (got ${crun.name})`);
  const stateRoot = join(work, "crun-state");
  const parent = `cove-bench-${process.pid}`;
  const bundles = join(work, "crun-bundles");
  mkdirSync(bundles, { recursive: true });
  const started: string[] = [];
  let n = 0;
  return {
    description: `${crun.name} ${crun.version}${crun.needsHybridWorkaround ? " (hybrid cgroups: unshare wrapper)" : ""}`,
    async runOnce() {
      const id = `cbtrue-${process.pid}-${n++}`;
      const bundle = join(bundles, id);
      mkdirSync(bundle);
      const spec = buildOciSpec({ id, args: ["/bin/true"], rootfs, readonlyRoot: true, cgroupsPath: `/${parent}/${id}` });
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
      started.push(id);
      const ms = await timeCommand(ociRunArgv(crun, mode, ["--root", stateRoot, "run", "--bundle", bundle, id]));
      started.pop(); // a foreground run deletes its container when it exits
      return ms;
    },
    async close() {
      for (const id of started) {
        await timeCommand([crun.path, "--root", stateRoot, "delete", "--force", id]).catch(() => undefined);
      }
      removeCgroupTree(parent);
    },
  };
}

export interface PodmanTrue {
  description: string;
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

/**
 * `podman run --rm` of `true` on `rootfs` with no network. `:O` puts an
 * overlay over the rootfs: without it podman creates /etc/hosts, /etc/mtab
 * and /run/.containerenv in the shared template. runc and the ulimit flags
 * are what podman 4.3 needs on this host (crun's hybrid-cgroup refusal,
 * no CAP_SYS_RESOURCE for its default rlimits).
 */
export async function podmanTrue(rootfs: string): Promise<PodmanTrue> {
  const version = (await captureFirstLine(["podman", "--version"])).replace(/^podman version\s*/, "");
  const hadLibpodParent = existsSync(join(CGROUP_ROOT, "memory", "libpod_parent"));
  const names: string[] = [];
  let n = 0;
  return {
    description: `podman ${version} --runtime runc --network none`,
    async runOnce() {
      const name = `cbpod-${process.pid}-${n++}`;
      names.push(name);
      const ms = await timeCommand([
        "podman",
        "run",
        "--rm",
        "--name",
        name,
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=4096:4096",
        "--ulimit",
        "nproc=4096:4096",
        "--network",
        "none",
        "--rootfs",
        `${rootfs}:O`,
        "true",
      ]);
      names.pop();
      return ms;
    },
    async close() {
      for (const name of names) await timeCommand(["podman", "rm", "--force", "--ignore", name]).catch(() => undefined);
      // podman's cgroupfs manager leaves its parent cgroup behind; remove it if we made it.
      if (!hadLibpodParent) removeCgroupTree("libpod_parent");
    },
  };
}

function captureFirstLine(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(out.split("\n")[0]!.trim()) : reject(new Error(`${argv.join(" ")} exited ${code}`))));
  });
}
