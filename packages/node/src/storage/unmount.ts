import { run } from "./host-command.js";
import { isAtOrBelow, mountsUnder, readMounts } from "./mountinfo.js";
import type { StorageLogger } from "./types.js";
import type { Spawner } from "@cove/protocol/spawner";

/**
 * Unmounts everything at or below each of `paths`, newest mount first (so stacked and nested
 * mounts come off in order). A busy mount (a process still inside) is detached lazily: it
 * disappears from the tree now and the kernel frees it, and its loop device, when the last
 * user goes. Returns what is still mounted there afterwards, which should be nothing.
 */
export async function unmountUnder(paths: readonly string[], logger?: StorageLogger, spawner?: Spawner): Promise<string[]> {
  const mounted = (await readMounts()).filter((entry) => paths.some((path) => isAtOrBelow(entry.mountPoint, path))).reverse();
  if (mounted.length > 0) {
    // One umount process for all of them (it unmounts its arguments in order): the usual case.
    const all = await run(["umount", ...mounted.map((e) => e.mountPoint)], spawner).then(
      () => true,
      () => false,
    );
    if (!all) for (const { mountPoint } of mounted) await unmountOne(mountPoint, logger, spawner);
  }
  const after = await readMounts();
  return paths.flatMap((path) => mountsUnder(after, path).map((e) => e.mountPoint));
}

async function unmountOne(mountPoint: string, logger?: StorageLogger, spawner?: Spawner): Promise<void> {
  if (!(await readMounts()).some((e) => e.mountPoint === mountPoint)) return; // the batch got this one
  try {
    await run(["umount", mountPoint], spawner);
  } catch (err) {
    logger?.warn({ mountPoint, err: String(err) }, "unmount failed; detaching lazily");
    await run(["umount", "--lazy", mountPoint], spawner);
  }
}
