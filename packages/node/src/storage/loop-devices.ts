import { readdir, readFile } from "node:fs/promises";
import { run } from "./host-command.js";
import type { Spawner } from "@cove/protocol/spawner";

export interface LoopDevice {
  /** e.g. /dev/loop3 */
  device: string;
  backingFile: string;
}

/** The kernel appends this to backing_file once the file has been unlinked. */
const deletedSuffix = " (deleted)";

/**
 * Attached loop devices and their backing files, from sysfs (no losetup process needed).
 * Costs a read per loop device ever created on the host (a few ms with a hundred): for
 * recovery paths, not for every release.
 */
export async function listLoopDevices(): Promise<LoopDevice[]> {
  const names = (await readdir("/sys/block")).filter((name) => /^loop\d+$/.test(name));
  const devices = await Promise.all(
    names.map(async (name): Promise<LoopDevice | undefined> => {
      // backing_file exists only while a file is attached.
      const raw = await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => undefined);
      if (raw === undefined) return undefined;
      let backingFile = raw.replace(/\n$/, "");
      if (backingFile.endsWith(deletedSuffix)) backingFile = backingFile.slice(0, -deletedSuffix.length);
      return { device: `/dev/${name}`, backingFile };
    }),
  );
  return devices.filter((d): d is LoopDevice => d !== undefined);
}

/**
 * Detaches `device` if it is still backed by `backingFile`. A device still in use (after a lazy
 * unmount) is only marked autoclear by the kernel and goes when its last user does.
 */
export async function detachLoop(device: string, backingFile: string, spawner?: Spawner): Promise<void> {
  try {
    await run(["losetup", "--detach", device], spawner);
  } catch (err) {
    const name = device.replace(/^\/dev\//, "");
    const current = await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => "");
    if (current.replace(/\n$/, "").replace(deletedSuffix, "") === backingFile) throw err;
  }
}

/** Detaches loop devices left attached to files under `dir` (a mount that failed or a crash between attach and mount). */
export async function detachLoopsUnder(dir: string, spawner?: Spawner): Promise<string[]> {
  const stale = (await listLoopDevices()).filter((d) => d.backingFile.startsWith(`${dir}/`));
  for (const { device } of stale) await run(["losetup", "--detach", device], spawner);
  return stale.map((d) => d.device);
}
