import { closeSync, constants } from "node:fs";
import { lchown, mkdir, readlink, realpath } from "node:fs/promises";
import { posix } from "node:path";
import { EnvdError, fromErrno } from "./errors.js";
import { toHostPath } from "./paths.js";
import type { UserFs } from "./user-fs.js";

/**
 * Creates `sandboxPath` and any missing parents as the user `fs` acts for, so
 * the kernel decides whether the user may create them and they belong to the
 * user (existing directories are left alone). With `forUpload`, a parent the
 * user may not create (a new top-level dir such as `/data`) is created by envd
 * as root and given to the user, as E2B's envd does for uploads (decision
 * 0011); the file itself is still written as the user. Returns true when
 * `sandboxPath` itself was created, false when it already was a directory. A
 * non-directory in the way is invalid_argument.
 */
export async function ensureDirs(root: string, sandboxPath: string, fs: UserFs, options: { forUpload?: boolean } = {}): Promise<boolean> {
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
      const code = (err as NodeJS.ErrnoException).code;
      // Someone else created it meanwhile; fine as long as it is a directory.
      if (code === "EEXIST" && (await dirState(root, dir, fs)) === "dir") continue;
      if (code === "EACCES" && options.forUpload && fs.user.uid !== 0) {
        await createForUser(root, dir, fs, err);
        continue;
      }
      throw fromErrno(err, dir);
    }
  }
  return missing.length > 0 && missing[missing.length - 1] === sandboxPath;
}

/** Linux's O_PATH (not in node's constants): a descriptor that pins a directory without reading it. */
const O_PATH = 0o10000000;

/**
 * mkdir as root, then the new directory is the user's. Safe against a user's symlinks: the parent
 * is opened as the user and pinned by its descriptor, and root acts only if that descriptor's
 * real path is the path asked for, i.e. no symlink led there (a path through the user's own
 * link to /etc is refused as before). Root then creates the one new name through the
 * descriptor, in a directory the user may not write, so nothing can be swapped before the
 * lchown; deeper parents are created as the user, in a directory they now own.
 */
async function createForUser(root: string, dir: string, fs: UserFs, refusal: unknown): Promise<void> {
  const parent = posix.dirname(dir);
  const fd = await fs.open(toHostPath(root, parent), O_PATH | constants.O_DIRECTORY).catch(() => undefined);
  if (fd === undefined) throw fromErrno(refusal, dir);
  try {
    const pinned = await readlink(`/proc/self/fd/${fd}`);
    if (pinned !== posix.join(await realpath(root), parent)) throw fromErrno(refusal, dir);
    const entry = `/proc/self/fd/${fd}/${posix.basename(dir)}`;
    try {
      await mkdir(entry, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && (await dirState(root, dir, fs)) === "dir") return;
      throw fromErrno(err, dir);
    }
    await lchown(entry, fs.user.uid, fs.user.gid).catch((err: unknown) => {
      throw fromErrno(err, dir);
    });
  } finally {
    closeSync(fd);
  }
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
