import { chmod, lchown, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

const RANGE = 65_536;

/**
 * Gives a build step's layer the template's own ids back: its sandbox wrote files as the host
 * ids its user namespace maps to (`shift + id`); layers are stored as if written by ids 0..65535
 * (owned by host root on disk, idmapped per sandbox when mounted). Entries outside the range
 * (overlayfs' whiteouts and work files, made as host root) are left alone. chown clears setuid
 * and setgid bits, so the mode is put back after.
 */
export async function unshiftLayer(dir: string, shift: number): Promise<void> {
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const inRange = (id: number) => id >= shift && id < shift + RANGE;
    if (inRange(info.uid) || inRange(info.gid)) {
      await lchown(path, inRange(info.uid) ? info.uid - shift : info.uid, inRange(info.gid) ? info.gid - shift : info.gid);
      if (!info.isSymbolicLink() && (info.mode & 0o6000) !== 0) await chmod(path, info.mode & 0o7777);
    }
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
}
