import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, open, readlink, realpath, rename, stat, unlink } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ensureDirs } from "../ensure-dirs.js";
import { EnvdError, fromErrno } from "../errors.js";
import { toHostPath, toSandboxPath } from "../paths.js";
import type { OsUser } from "../users.js";

const WRITE_CHUNK = 1024 * 1024;
/** Marks our temporary files, so a leftover one is recognisable. */
export const TEMP_MARKER = ".cove-upload-";

/**
 * Writes `source` to the sandbox file `path` as `owner`: missing parent
 * directories are created and owned by the user, and the file ends up owned by
 * the user. Data goes to a temporary file beside the target that is renamed
 * over it only once complete, so a failed or aborted upload leaves the previous
 * content intact; the temporary file is removed on any failure. A symlink is
 * followed (its target is replaced), the mode of an existing file is kept.
 */
export async function writeFileAtomically(root: string, path: string, owner: OsUser, source: Readable): Promise<void> {
  await ensureDirs(root, posix.dirname(path), owner);
  const target = await resolveTarget(root, path);
  const existing = await statOrUndefined(target, path);
  if (existing?.isDirectory()) throw new EnvdError("invalid_argument", `path '${path}' is a directory`);
  // Devices, FIFOs and sockets are not files to replace (and opening a FIFO would block).
  if (existing && !existing.isFile()) throw new EnvdError("invalid_argument", `path '${path}' is not a regular file`);

  const temp = posix.join(posix.dirname(target), `.${posix.basename(target)}${TEMP_MARKER}${randomBytes(6).toString("hex")}`);
  let handle;
  try {
    handle = await open(temp, "wx", 0o666);
  } catch (err) {
    throw fromErrno(err, path);
  }
  try {
    await pipeline(source, handle.createWriteStream({ highWaterMark: WRITE_CHUNK }));
    await chown(temp, owner.uid, owner.gid);
    if (existing) await chmod(temp, existing.mode & 0o7777);
    await rename(temp, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err instanceof EnvdError || isStreamError(err) ? err : fromErrno(err, path);
  }
}

/** The host path to replace: the file itself, or what a symlink (even a dangling one) points at. */
async function resolveTarget(root: string, path: string): Promise<string> {
  let host = toHostPath(root, path);
  for (let hops = 0; hops < 40; hops++) {
    let info;
    try {
      info = await lstat(host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return host;
      throw fromErrno(err, path);
    }
    if (!info.isSymbolicLink()) return host;
    try {
      return await realpath(host);
    } catch {
      // Dangling: follow one hop by hand, so the upload creates the link's target as open(O_CREAT) would.
      const link = await readlink(host);
      host = toHostPath(root, posix.resolve(posix.dirname(toSandboxPath(root, host)), link));
    }
  }
  throw new EnvdError("invalid_argument", `too many symlinks in '${path}'`);
}

async function statOrUndefined(host: string, path: string) {
  try {
    return await stat(host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fromErrno(err, path);
  }
}

/** Errors raised by the body (abort, bad gzip), not by the file system; the caller maps them. */
function isStreamError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !(typeof code === "string" && /^E[A-Z]+$/.test(code) && code !== "ECONNRESET");
}
