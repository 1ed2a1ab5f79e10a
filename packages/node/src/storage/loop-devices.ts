import { readdir, readFile } from "node:fs/promises";
import { run } from "./exec.js";

export interface LoopDevice {
  /** e.g. /dev/loop3 */
  device: string;
  backingFile: string;
}

/** The kernel appends this to backing_file once the file has been unlinked. */
const deletedSuffix = " (deleted)";

/** Attached loop devices and their backing files, from sysfs (no losetup process needed). */
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

/** Detaches loop devices left attached to files under `dir` (a mount that failed or a crash between attach and mount). */
export async function detachLoopsUnder(dir: string): Promise<string[]> {
  const stale = (await listLoopDevices()).filter((d) => d.backingFile.startsWith(`${dir}/`));
  for (const { device } of stale) await run(["losetup", "--detach", device]);
  return stale.map((d) => d.device);
}
