import { chown, mkdir, stat } from "node:fs/promises";
import { posix } from "node:path";
import { EnvdError, fromErrno } from "./errors.js";
import { toHostPath } from "./paths.js";
import type { OsUser } from "./users.js";

/**
 * Creates `sandboxPath` and any missing parents, each owned by `owner` (what
 * envd creates on a user's behalf belongs to that user; existing directories
 * are left alone). Returns true when `sandboxPath` itself was created, false
 * when it already was a directory. A non-directory in the way is
 * invalid_argument.
 */
export async function ensureDirs(root: string, sandboxPath: string, owner: OsUser): Promise<boolean> {
  const missing: string[] = [];
  for (let dir = sandboxPath; ; dir = posix.dirname(dir)) {
    const state = await dirState(root, dir);
    if (state === "dir") break;
    if (state === "other") {
      throw new EnvdError("invalid_argument", `path '${dir}' already exists but is not a directory`);
    }
    missing.unshift(dir);
    if (dir === "/") break;
  }
  for (const dir of missing) {
    const hostDir = toHostPath(root, dir);
    try {
      await mkdir(hostDir, { mode: 0o755 });
    } catch (err) {
      // Someone else created it meanwhile; fine as long as it is a directory.
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && (await dirState(root, dir)) === "dir") continue;
      throw fromErrno(err, dir);
    }
    try {
      await chown(hostDir, owner.uid, owner.gid);
    } catch (err) {
      throw fromErrno(err, dir);
    }
  }
  return missing.length > 0 && missing[missing.length - 1] === sandboxPath;
}

async function dirState(root: string, sandboxPath: string): Promise<"dir" | "other" | "missing"> {
  try {
    // stat, not lstat: a symlink to a directory is a fine parent.
    return (await stat(toHostPath(root, sandboxPath))).isDirectory() ? "dir" : "other";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "missing";
    if (code === "ENOTDIR") return "other";
    throw fromErrno(err, sandboxPath);
  }
}
