import { chmod, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { NodeError } from "../errors.js";

/** Shared dirs runc walks as a sandbox's root: to its rootfs, its disk's files, the envd runtime. */
function walked(dataDir: string): string[] {
  return [dataDir, join(dataDir, "sandboxes"), join(dataDir, "storage"), join(dataDir, "storage", "sandboxes"), join(dataDir, "runtime")];
}

/**
 * runc mounts a sandbox's root and binds by absolute path from inside the sandbox's user
 * namespace, as its root, an unprivileged host uid (crun opens them before it enters). So with
 * runc, every directory from `/` to those paths must be searchable by others: the node makes
 * its shared dirs 0711 (search, no listing; each sandbox's own dirs stay 0710 to its group) and
 * refuses a data dir below a directory it would have to open up, such as a 0700 home.
 */
export async function openDataDirForRunc(dataDir: string): Promise<void> {
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new NodeError(
        "unavailable",
        `runc cannot reach sandboxes under ${dataDir}: ${dir} is not searchable by other users (mode ${(mode & 0o777).toString(8)}), and a sandbox's root is one. Use crun, or a data dir such as /var/lib/cove`,
      );
    }
    if (dir === dirname(dir)) break;
  }
  for (const dir of walked(dataDir)) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o711);
  }
}
