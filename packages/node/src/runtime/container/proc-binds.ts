import type { OciRuntimeName } from "./host-detect.js";
import type { OciSpec } from "./oci-spec.js";

/** An OCI hook (config.json `hooks.*[]`). */
export interface OciHook {
  path: string;
  args: string[];
}

export type OciSpecWithHooks = OciSpec & { hooks?: { createContainer?: OciHook[] } };

const mountBinary = "/usr/bin/mount";

const insideProc = (destination: string) => destination.startsWith("/proc/");

/**
 * Binds over files in /proc (a sandbox's own boot_id) need care in each runtime:
 * - crun mounts them, but its read-only bind of /proc/sys (readonlyPaths) copies them writable on
 *   top; listing the same path in readonlyPaths puts a read-only bind over that copy.
 * - runc 1.1 refuses any mount inside /proc but a fixed list (lxcfs's files). It gets the bind as
 *   a createContainer hook instead: that runs in the sandbox's mount namespace before pivot_root,
 *   where the rootfs still has its host path.
 * `rootfs` is the rootfs's absolute host path.
 */
export function placeProcBinds(spec: OciSpec, runtime: OciRuntimeName, rootfs: string): OciSpecWithHooks {
  const procBinds = spec.mounts.filter((m) => m.type === "bind" && insideProc(m.destination));
  if (procBinds.length === 0) return spec;
  if (runtime === "crun") {
    return { ...spec, linux: { ...spec.linux, readonlyPaths: [...spec.linux.readonlyPaths, ...procBinds.map((m) => m.destination)] } };
  }
  return {
    ...spec,
    mounts: spec.mounts.filter((m) => !procBinds.includes(m)),
    hooks: {
      createContainer: procBinds.map((m) => ({
        path: mountBinary,
        args: ["mount", "--bind", "-o", m.options?.includes("ro") ? "ro,nosuid,nodev,noexec" : "nosuid,nodev,noexec", m.source, `${rootfs}${m.destination}`],
      })),
    },
  };
}
