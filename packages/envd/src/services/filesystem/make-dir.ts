import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { EnvdError, fromErrno } from "../../errors.js";
import { buildEntryInfo } from "./entry-info.js";
import { ensureDirs } from "../../ensure-dirs.js";
import { guard, requestFs, resolvePath } from "./request.js";

/**
 * MakeDir: creates the directory and its parents as the request user (so
 * the kernel checks the user's permissions and the user owns them).
 * An existing directory is already_exists (the SDK's makeDir then returns
 * false); an existing non-directory is invalid_argument.
 */
export function createMakeDir(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["makeDir"] {
  return (req, handler) =>
    guard(ctx, "MakeDir", async () => {
      const fs = await requestFs(ctx, handler);
      const { path, hostPath } = resolvePath(ctx, fs.user, req.path);
      const existing = await fs.stat(hostPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw fromErrno(err, path);
      });
      if (existing?.kind === "directory") throw new EnvdError("already_exists", `directory '${path}' already exists`);
      if (existing) throw new EnvdError("invalid_argument", `path '${path}' already exists but is not a directory`);
      const created = await ensureDirs(ctx.config.root, path, fs);
      if (!created) throw new EnvdError("already_exists", `directory '${path}' already exists`);
      return { entry: await buildEntryInfo(ctx, path, fs) };
    });
}
