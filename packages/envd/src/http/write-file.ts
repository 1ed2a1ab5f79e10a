import { constants, createReadStream, createWriteStream, fstat, ftruncate } from "node:fs";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { ensureDirs } from "../ensure-dirs.js";
import { EnvdError, fromErrno } from "../errors.js";
import { type FileMetadata, replaceMetadata } from "../file-metadata.js";
import { toHostPath, toSandboxPath } from "../paths.js";
import { uploadTempName } from "../upload-temp.js";
import type { FileStat, UserFs } from "../user-fs.js";

const WRITE_CHUNK = 1024 * 1024;

const fstatAsync = promisify(fstat);
const ftruncateAsync = promisify(ftruncate);

/**
 * Writes `source` to the sandbox file `path` as the user `fs` acts for: every
 * step (missing parents, the temporary file, the rename) is a system call
 * with that user's credentials, so the kernel refuses what the user may not
 * do and what is created belongs to the user. Data goes to a temporary file
 * beside the target that is renamed over it only once complete, so a failed
 * upload leaves the previous content intact (decision 0004). A symlink is
 * followed (its target is replaced), the mode of an existing file is kept.
 *
 * When the user may write an existing file but not replace it (a writable
 * file in a directory the user cannot write, or someone else's file in a
 * sticky directory), the file is written in place, as the user's own
 * `cat > file` would; only then is the write not atomic.
 *
 * `metadata` becomes the file's whole metadata (user.e2b.* xattrs), set on
 * the temporary file before any data, so a refusal leaves the old file as
 * it was and an overwrite drops keys not sent again.
 */
export async function writeFileAtomically(root: string, path: string, fs: UserFs, source: Readable, metadata: FileMetadata = {}): Promise<void> {
  await ensureDirs(root, posix.dirname(path), fs, { forUpload: true });
  const target = await resolveTarget(root, path, fs);
  const existing = await statOrUndefined(fs, target, path);
  if (existing?.kind === "directory") throw new EnvdError("invalid_argument", `path '${path}' is a directory`);
  // Devices, FIFOs and sockets are not files to replace (and opening a FIFO would block).
  if (existing && existing.kind !== "file") throw new EnvdError("invalid_argument", `path '${path}' is not a regular file`);

  const temp = posix.join(posix.dirname(target), uploadTempName(posix.basename(target), existing !== undefined));
  let fd: number;
  try {
    fd = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
  } catch (err) {
    if (existing && isRefusal(err)) return writeInPlace(fs, target, path, source, metadata);
    throw fromErrno(err, path);
  }
  // The stream owns the fd from here on and closes it when it ends or fails.
  const sink = createWriteStream("", { fd, highWaterMark: WRITE_CHUNK });
  try {
    // Before fchmod: writing user xattrs needs write permission on the file, which a carried-over 0444 would take away.
    await replaceMetadata(fs, fd, metadata, path);
    if (existing) await fs.fchmod(fd, existing.mode & 0o7777);
    await pipeline(source, sink);
  } catch (err) {
    sink.destroy();
    await fs.unlink(temp).catch(() => undefined);
    throw err instanceof EnvdError || isStreamError(err) ? err : fromErrno(err, path);
  }
  try {
    await fs.rename(temp, target);
  } catch (err) {
    try {
      if (existing && isRefusal(err)) return await copyInPlace(fs, temp, target, path, metadata);
      throw fromErrno(err, path);
    } finally {
      await fs.unlink(temp).catch(() => undefined);
    }
  }
}

/** Truncates and rewrites an existing regular file through a descriptor the user opened. */
async function writeInPlace(fs: UserFs, target: string, path: string, source: Readable, metadata: FileMetadata): Promise<void> {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in meanwhile must not hang a pool thread.
    fd = await fs.open(target, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromErrno(err, path);
  }
  const sink = createWriteStream("", { fd, highWaterMark: WRITE_CHUNK });
  try {
    if (!(await fstatAsync(fd)).isFile()) throw new EnvdError("invalid_argument", `path '${path}' is not a regular file`);
    await replaceMetadata(fs, fd, metadata, path);
    await ftruncateAsync(fd, 0);
    await pipeline(source, sink);
  } catch (err) {
    sink.destroy();
    throw err instanceof EnvdError || isStreamError(err) ? err : fromErrno(err, path);
  }
}

async function copyInPlace(fs: UserFs, temp: string, target: string, path: string, metadata: FileMetadata): Promise<void> {
  let fd: number;
  try {
    fd = await fs.open(temp, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw fromErrno(err, path);
  }
  const copy = createReadStream("", { fd, highWaterMark: WRITE_CHUNK });
  try {
    await writeInPlace(fs, target, path, copy, metadata);
  } finally {
    copy.destroy();
  }
}

/** The host path to replace: the file itself, or what a symlink (even a dangling one) points at. */
async function resolveTarget(root: string, path: string, fs: UserFs): Promise<string> {
  let host = toHostPath(root, path);
  for (let hops = 0; hops < 40; hops++) {
    let info: Awaited<ReturnType<UserFs["lstat"]>>;
    try {
      info = await fs.lstat(host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return host;
      throw fromErrno(err, path);
    }
    if (info.kind !== "symlink") return host;
    try {
      return await fs.realpath(host);
    } catch {
      // Dangling: follow one hop by hand, so the upload creates the link's target as open(O_CREAT) would.
      let link: string;
      try {
        link = await fs.readlink(host);
      } catch (err) {
        throw fromErrno(err, path);
      }
      host = toHostPath(root, posix.resolve(posix.dirname(toSandboxPath(root, host)), link));
    }
  }
  throw new EnvdError("invalid_argument", `too many symlinks in '${path}'`);
}

async function statOrUndefined(fs: UserFs, host: string, path: string): Promise<FileStat | undefined> {
  try {
    return await fs.stat(host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fromErrno(err, path);
  }
}

function isRefusal(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "EACCES" || code === "EPERM";
}

/** Errors raised by the body (abort, bad gzip), not by the file system; the caller maps them. */
function isStreamError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return !(typeof code === "string" && /^E[A-Z]+$/.test(code) && code !== "ECONNRESET");
}
