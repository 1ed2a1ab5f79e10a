import { posix } from "node:path";
import { EnvdError, fromErrno } from "./errors.js";
import { toHostPath } from "./paths.js";
import type { UserFs } from "./user-fs.js";

/**
 * Creates `sandboxPath` and any missing parents as the user `fs` acts for, so
 * the kernel decides whether the user may create them and they belong to the
 * user (existing directories are left alone). Returns true when
 * `sandboxPath` itself was created, false when it already was a directory. A
 * non-directory in the way is invalid_argument.
 */
export async function ensureDirs(root: string, sandboxPath: string, fs: UserFs): Promise<boolean> {
  const missing: string[] = [];
  for (let dir = sandboxPath; ; dir = posix.dirname(dir)) {
    const state = await dirState(root, dir, fs);
    if (state === "dir") break;
    if (state === "other") {
      throw new EnvdError("invalid_argument", `path '${dir}' already exists but is not a directory`);
    }
    missing.unshift(dir);
    if (dir === "/") break;
  }
  for (const dir of missing) {
    try {
      await fs.mkdir(toHostPath(root, dir), 0o755);
    } catch (err) {
      // Someone else created it meanwhile; fine as long as it is a directory.
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && (await dirState(root, dir, fs)) === "dir") continue;
      throw fromErrno(err, dir);
    }
  }
  return missing.length > 0 && missing[missing.length - 1] === sandboxPath;
}

async function dirState(root: string, sandboxPath: string, fs: UserFs): Promise<"dir" | "other" | "missing"> {
  try {
    // stat, not lstat: a symlink to a directory is a fine parent.
    return (await fs.stat(toHostPath(root, sandboxPath))).kind === "directory" ? "dir" : "other";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "missing";
    if (code === "ENOTDIR") return "other";
    throw fromErrno(err, sandboxPath);
  }
}
