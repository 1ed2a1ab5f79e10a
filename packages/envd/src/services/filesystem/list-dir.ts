import { posix } from "node:path";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import { toHostPath } from "../../paths.js";
import type { UserFs } from "../../user-fs.js";
import { createOwnerNames, entryFromStats, type EntryInfoInit, type OwnerNames } from "./entry-info.js";
import { guard, resolveDirectory } from "./request.js";

/**
 * ListDir: entries below a directory down to `depth` levels (0 means 1;
 * depth counts from the listed directory). The listed path may be a symlink
 * to a directory; symlinks below it are reported but not descended into.
 * Order is upstream's filepath.WalkDir order: depth-first, names sorted,
 * each directory followed by its contents. Paths are absolute and based on
 * the requested path. Listing and stats are made as the request user, so a
 * directory the user cannot read is permission_denied.
 */
export function createListDir(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["listDir"] {
  return (req, handler) =>
    guard(ctx, "ListDir", async () => {
      const { path, fs } = await resolveDirectory(ctx, handler, req.path);
      const depth = req.depth === 0 ? 1 : req.depth;
      const entries: EntryInfoInit[] = [];
      await walk(ctx, fs, path, depth, createOwnerNames(ctx.users), entries, true);
      return { entries };
    });
}

async function walk(ctx: EnvdContext, fs: UserFs, dir: string, depthLeft: number, names: OwnerNames, out: EntryInfoInit[], top: boolean): Promise<void> {
  let children: string[];
  try {
    // Below the top, never follow a symlink (the lstat said directory; a swap since must not redirect the walk).
    children = await fs.readdir(toHostPath(ctx.config.root, dir), { noFollow: !top });
  } catch (err) {
    // Below the top, a subdirectory that vanished mid-walk is simply no longer
    // there, and one the user may not read is listed without its contents.
    const code = (err as NodeJS.ErrnoException).code;
    if (!top && (code === "ENOENT" || code === "EACCES" || code === "ENOTDIR" || code === "ELOOP")) return;
    throw fromErrno(err, dir);
  }
  children.sort();
  // Stat a directory's children concurrently, then emit in name order.
  const infos = await Promise.all(
    children.map(async (name) => {
      const path = posix.join(dir, name);
      try {
        const stats = await fs.lstat(toHostPath(ctx.config.root, path));
        return { path, isDir: stats.kind === "directory", entry: await entryFromStats(ctx, path, stats, fs, names) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw fromErrno(err, path);
      }
    }),
  );
  for (const info of infos) {
    if (!info) continue;
    out.push(info.entry);
    if (info.isDir && depthLeft > 1) await walk(ctx, fs, info.path, depthLeft - 1, names, out, false);
  }
}
