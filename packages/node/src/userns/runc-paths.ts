import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { NodeError } from "../errors.js";

/**
 * runc mounts a sandbox's root and binds by absolute path from inside the sandbox's user
 * namespace, as its root, an unprivileged host uid (crun opens them before it enters). So with
 * runc every directory from `/` to the data dir must be searchable by others; the node's own
 * shared dirs are made 0711 by the host mode table (storage/host-modes.ts). A data dir below a
 * directory the node would have to open up, such as a 0700 home, is refused here.
 */
export async function checkDataDirReachableByRunc(dataDir: string): Promise<void> {
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new NodeError(
        "unavailable",
        `runc cannot reach sandboxes under ${dataDir}: ${dir} is not searchable by other users (mode ${(mode & 0o777).toString(8)}), and a sandbox's root is one. Use crun, or a data dir such as /var/lib/cove`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}
