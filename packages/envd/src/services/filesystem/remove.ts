import { posix } from "node:path";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import type { UserFs } from "../../user-fs.js";
import { guard, requestFs, resolvePath } from "./request.js";

/**
 * Remove: deletes a file, a symlink (not its target) or a directory tree, as
 * the request user: every unlink and rmdir is the user's own, so a tree with
 * parts the user may not delete fails with permission_denied at the first
 * such part (what is already gone stays gone, as with `rm -r`). A missing
 * path (or a missing parent) succeeds, as upstream's os.RemoveAll does: the
 * SDK's remove() of something already gone resolves.
 */
export function createRemove(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["remove"] {
  return (req, handler) =>
    guard(ctx, "Remove", async () => {
      const fs = await requestFs(ctx, handler);
      const { path, hostPath } = resolvePath(ctx, fs.user, req.path);
      try {
        await removeTree(fs, hostPath);
      } catch (err) {
        throw fromErrno(err, path);
      }
      return {};
    });
}

/**
 * Depth-first removal. Directories are listed with O_NOFOLLOW, so a directory
 * swapped for a symlink meanwhile is not descended into; and since every call
 * carries the user's credentials, no swap can reach beyond what the user may
 * delete anyway. Entries that vanish meanwhile are fine.
 */
async function removeTree(fs: UserFs, hostPath: string): Promise<void> {
  try {
    const info = await fs.lstat(hostPath);
    if (info.kind !== "directory") return await fs.unlink(hostPath);
    for (const name of await fs.readdir(hostPath, { noFollow: true })) {
      await removeTree(fs, posix.join(hostPath, name));
    }
    await fs.rmdir(hostPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
}
