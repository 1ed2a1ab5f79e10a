import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { buildEntryInfo } from "./entry-info.js";
import { guard, requestFs, resolvePath } from "./request.js";

/** Stat: EntryInfo of one path (the entry itself; a symlink is not followed for its own fields). */
export function createStat(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["stat"] {
  return (req, handler) =>
    guard(ctx, "Stat", async () => {
      const fs = await requestFs(ctx, handler);
      const { path } = resolvePath(ctx, fs.user, req.path);
      return { entry: await buildEntryInfo(ctx, path, fs) };
    });
}
