import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { NodeError } from "../../errors.js";
import { runCommand } from "../../exec/run-command.js";

/**
 * - "v2": the unified hierarchy is mounted at the cgroup root (most hosts today).
 * - "hybrid": v1 controllers at the root, cgroup2 at <root>/unified.
 * - "v1": v1 controllers only.
 */
export type CgroupMode = "v1" | "hybrid" | "v2";

export type OciRuntimeName = "crun" | "runc";

export interface OciRuntime {
  name: OciRuntimeName;
  /** Absolute path of the binary. */
  path: string;
  /** The version number from `<bin> --version`, e.g. "1.8.1". */
  version: string;
  /**
   * crun refuses hybrid hosts ("cgroups in hybrid mode not supported"), so its
   * `create`/`run` must see a mount table without the cgroup2 mount.
   * Other subcommands (exec, kill, delete, pause) work without it.
   */
  needsHybridWorkaround: boolean;
}

/** Reads the cgroup layout from marker files; `root` is for tests. */
export function detectCgroupMode(root = "/sys/fs/cgroup"): CgroupMode {
  if (existsSync(join(root, "cgroup.controllers"))) return "v2";
  if (existsSync(join(root, "unified", "cgroup.controllers"))) return "hybrid";
  return "v1";
}

/** The first executable called `name` on `searchPath`, or undefined. */
export function findOnPath(name: string, searchPath: string = process.env.PATH ?? ""): string | undefined {
  // sbin directories are often missing from a service's PATH; runc lives there on Debian.
  const dirs = [...searchPath.split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter((d) => d !== "");
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Finds crun or runc (preferring `preferred`, then crun for its lower
 * latency) and asks it for its version. Throws `unavailable` if neither works.
 */
export async function detectOciRuntime(preferred?: OciRuntimeName, cgroupMode: CgroupMode = detectCgroupMode()): Promise<OciRuntime> {
  const order: OciRuntimeName[] = preferred === "runc" ? ["runc", "crun"] : ["crun", "runc"];
  const problems: string[] = [];
  for (const name of order) {
    const path = findOnPath(name);
    if (!path) {
      problems.push(`${name}: not found on PATH`);
      continue;
    }
    try {
      const { stdout } = await runCommand([path, "--version"], { timeoutMs: 10_000 });
      return {
        name,
        path,
        version: parseRuntimeVersion(stdout),
        needsHybridWorkaround: name === "crun" && cgroupMode === "hybrid",
      };
    } catch (err) {
      problems.push(`${name}: ${path} --version failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new NodeError("unavailable", `no OCI runtime found (${problems.join("; ")})`);
}

/** "crun version 1.8.1\n..." or "runc version 1.1.5+ds1\n..." → "1.8.1" / "1.1.5+ds1". */
export function parseRuntimeVersion(output: string): string {
  const match = /version\s+(\S+)/.exec(output);
  return match?.[1] ?? "unknown";
}

/**
 * The argv that runs `<runtime> ...args`. For crun on a hybrid host the
 * runtime runs in a private mount namespace with the cgroup2 mount removed,
 * so crun sees a pure v1 host; the host's mounts are untouched (propagation
 * slave). The runtime path and args are passed as positional parameters,
 * never spliced into the shell script.
 */
export function ociRunArgv(runtime: OciRuntime, mode: CgroupMode, args: string[]): string[] {
  if (runtime.name === "crun" && mode === "hybrid") {
    return ["unshare", "-m", "--propagation", "slave", "sh", "-c", 'umount /sys/fs/cgroup/unified && exec "$0" "$@"', runtime.path, ...args];
  }
  return [runtime.path, ...args];
}

/** CAP_SYS_RESOURCE's bit in /proc/<pid>/status CapEff. */
const capSysResource = 24;

/** Whether this process holds CAP_SYS_RESOURCE (some hosts run even root without it). */
export function hasSysResource(status = readFileSync("/proc/self/status", "utf8")): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex !== undefined && ((BigInt(`0x${hex}`) >> BigInt(capSysResource)) & 1n) === 1n;
}
