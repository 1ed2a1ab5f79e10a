import { posix } from "node:path";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import { buildEntryInfo } from "./entry-info.js";
import { ensureDirs } from "../../ensure-dirs.js";
import { guard, requestFs, resolvePath } from "./request.js";

/**
 * Move: rename(2) source to destination as the request user, creating the destination's missing
 * parents (owned by the request user) as upstream envd does. Returns the
 * moved entry, which the SDK's rename() requires. A missing source is
 * not_found naming the source.
 */
export function createMove(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["move"] {
  return (req, handler) =>
    guard(ctx, "Move", async () => {
      const fs = await requestFs(ctx, handler);
      const source = resolvePath(ctx, fs.user, req.source);
      const destination = resolvePath(ctx, fs.user, req.destination);
      // Check the source first so a missing source is reported as such, and
      // no parent directories are created for a move that cannot happen.
      await buildEntryInfo(ctx, source.path, fs);
      await ensureDirs(ctx.config.root, posix.dirname(destination.path), fs);
      try {
        await fs.rename(source.hostPath, destination.hostPath);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw fromErrno(err, code === "ENOENT" ? source.path : destination.path);
      }
      return { entry: await buildEntryInfo(ctx, destination.path, fs) };
    });
}
