import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BindMount } from "../runtime/container/oci-spec.js";

/**
 * The sandbox's own boot id, in place of the host's (which would tie sandboxes to their host and
 * to each other). Written once on the sandbox's own disk, so it stays the same for the sandbox's
 * life, across pause/resume and node restarts; owned by host root and 0444, bound read-only.
 */
export async function bootIdBind(filesDir: string): Promise<BindMount> {
  const source = join(filesDir, "boot_id");
  await writeFile(source, `${randomUUID()}\n`, { mode: 0o444, flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
  return { source, destination: "/proc/sys/kernel/random/boot_id", readonly: true };
}
