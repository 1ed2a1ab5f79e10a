import { lstat, rm } from "node:fs/promises";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import { guard, requestUser, resolvePath } from "./request.js";

/**
 * Remove: deletes a file, a symlink (not its target) or a directory tree.
 * Unlike upstream's os.RemoveAll, a missing path is not_found, so the SDK's
 * remove() throws FileNotFoundError instead of silently succeeding.
 */
export function createRemove(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["remove"] {
  return (req, handler) =>
    guard(ctx, "Remove", async () => {
      const user = await requestUser(ctx, handler);
      const { path, hostPath } = resolvePath(ctx, user, req.path);
      try {
        await lstat(hostPath);
        await rm(hostPath, { recursive: true, force: true });
      } catch (err) {
        throw fromErrno(err, path);
      }
      return {};
    });
}
