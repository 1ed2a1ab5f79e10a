import { lstat, readdir } from "node:fs/promises";
import { posix } from "node:path";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import { toHostPath } from "../../paths.js";
import { createOwnerNames, entryFromStats, type EntryInfoInit, type OwnerNames } from "./entry-info.js";
import { guard, resolveDirectory } from "./request.js";

/**
 * ListDir: entries below a directory down to `depth` levels (0 means 1;
 * depth counts from the listed directory). The listed path may be a symlink
 * to a directory; symlinks below it are reported but not descended into.
 * Order is upstream's filepath.WalkDir order: depth-first, names sorted,
 * each directory followed by its contents. Paths are absolute and based on
 * the requested path.
 */
export function createListDir(ctx: EnvdContext): ServiceImpl<typeof Filesystem>["listDir"] {
  return (req, handler) =>
    guard(ctx, "ListDir", async () => {
      const { path } = await resolveDirectory(ctx, handler, req.path);
      const depth = req.depth === 0 ? 1 : req.depth;
      const entries: EntryInfoInit[] = [];
      await walk(ctx, path, depth, createOwnerNames(ctx.users), entries, true);
      return { entries };
    });
}

async function walk(
  ctx: EnvdContext,
  dir: string,
  depthLeft: number,
  names: OwnerNames,
  out: EntryInfoInit[],
  top: boolean,
): Promise<void> {
  let children: string[];
  try {
    children = await readdir(toHostPath(ctx.config.root, dir));
  } catch (err) {
    // A subdirectory that vanished mid-walk is simply no longer there.
    if (!top && (err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw fromErrno(err, dir);
  }
  children.sort();
  // Stat a directory's children concurrently, then emit in name order.
  const infos = await Promise.all(
    children.map(async (name) => {
      const path = posix.join(dir, name);
      try {
        const stats = await lstat(toHostPath(ctx.config.root, path), { bigint: true });
        return { path, isDir: stats.isDirectory(), entry: await entryFromStats(ctx, path, stats, names) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw fromErrno(err, path);
      }
    }),
  );
  for (const info of infos) {
    if (!info) continue;
    out.push(info.entry);
    if (info.isDir && depthLeft > 1) await walk(ctx, info.path, depthLeft - 1, names, out, false);
  }
}
