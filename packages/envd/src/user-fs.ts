import { constants as osConstants } from "node:os";
import type { OsUser } from "./users.js";

/**
 * File system calls made with one user's uid, gid and supplementary groups,
 * so the kernel applies exactly that user's permissions (decision 0011).
 * Paths are host paths. Failures reject with a Node-style error whose `code`
 * is the errno name ("EACCES", "ENOENT", ...), which fromErrno maps.
 */
export interface UserFs {
  readonly user: OsUser;
  /** open(2); returns a raw fd the caller must close. O_CLOEXEC is always added. */
  open(path: string, flags: number, mode?: number): Promise<number>;
  mkdir(path: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Names in a directory without "." and "..", unsorted. `noFollow` refuses a symlink as the directory. */
  readdir(path: string, options?: { noFollow?: boolean }): Promise<string[]>;
  realpath(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  stat(path: string): Promise<FileStat>;
  lstat(path: string): Promise<FileStat>;
  /** fchmod(2) as the user, so the kernel drops a set-group-id bit the user may not set. */
  fchmod(fd: number, mode: number): Promise<void>;
  /** Extended attribute names (llistxattr/flistxattr). */
  listxattr(target: XattrTarget): Promise<string[]>;
  /** An extended attribute's value as UTF-8 text (lgetxattr/fgetxattr); ENODATA when absent. */
  getxattr(target: XattrTarget, name: string): Promise<string>;
  setxattr(target: XattrTarget, name: string, value: string): Promise<void>;
  removexattr(target: XattrTarget, name: string): Promise<void>;
}

/**
 * What the xattr calls act on: a host path (the entry itself, never a
 * symlink's target: the l* calls) or an open file descriptor (the f* calls).
 */
export type XattrTarget = string | number;

export type FileKind = "file" | "directory" | "symlink" | "other";

export interface FileStat {
  kind: FileKind;
  /** Full st_mode, type bits included. */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  mtimeNs: bigint;
}

/** Creates the UserFs for a user. */
export type UserFsFactory = (user: OsUser) => UserFs;

/** What the addon exports (native/addon/cove-userfs.c); the op numbers match its `enum op`. */
interface Binding {
  call(
    op: number,
    uid: number,
    gid: number,
    groups: Uint32Array,
    path: string | null,
    path2: string | null,
    a: number,
    b: number,
    value?: string,
  ): Promise<unknown>;
}

const Op = {
  open: 0,
  mkdir: 1,
  rename: 2,
  unlink: 3,
  rmdir: 4,
  readdir: 5,
  realpath: 6,
  readlink: 7,
  stat: 8,
  fchmod: 9,
  listxattr: 10,
  getxattr: 11,
  setxattr: 12,
  removexattr: 13,
} as const;

/** The addon could not be loaded; envd cannot serve files safely without it. */
export class UserFsUnavailable extends Error {
  override readonly name = "UserFsUnavailable";
  readonly code = "userfs_unavailable";
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** A Node-style system error for an errno number the addon rejected with. */
function systemError(errno: unknown, syscall: string, path: string | undefined): NodeJS.ErrnoException {
  const number = typeof errno === "number" ? errno : NaN;
  const code = errnoNames.get(number) ?? "EIO";
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall}${path === undefined ? "" : ` '${path}'`}`);
  err.code = code;
  err.errno = -number;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

const S_IFMT = 0o170000;
// st_mode type bits, written in octal as in <sys/stat.h>.
// biome-ignore lint/complexity/useSimpleNumberKeys: octal is how these bits are known; the fixer rewrites them wrongly (0o100000 → 16807)
const kinds: Record<number, FileKind> = { 0o100000: "file", 0o040000: "directory", 0o120000: "symlink" };

function toStat(fields: BigInt64Array): FileStat {
  const mode = Number(fields[0]);
  return {
    kind: kinds[mode & S_IFMT] ?? "other",
    mode,
    uid: Number(fields[1]),
    gid: Number(fields[2]),
    size: fields[3]!,
    mtimeNs: fields[4]! * 1_000_000_000n + fields[5]!,
  };
}

/**
 * Loads the addon (config.userFsAddon) through process.dlopen, which works
 * from the bundled CommonJS file as well as from the ESM sources.
 */
export function loadUserFs(file: string): UserFsFactory {
  const module = { exports: {} as Partial<Binding> };
  try {
    process.dlopen(module, file);
  } catch (err) {
    throw new UserFsUnavailable(`cannot load ${file}: ${(err as Error).message}`, { cause: err });
  }
  const binding = module.exports;
  if (typeof binding.call !== "function") throw new UserFsUnavailable(`${file} does not export call()`);
  return createUserFsFactory(binding as Binding);
}

function createUserFsFactory(binding: Binding): UserFsFactory {
  return (user) => {
    const groups = Uint32Array.from(user.groups.length > 0 ? user.groups : [user.gid]);
    const call = async <T>(op: number, syscall: string, path: string | null, path2: string | null = null, a = 0, b = 0, value?: string): Promise<T> => {
      try {
        const args = [op, user.uid, user.gid, groups, path, path2, a, b] as const;
        return (await (value === undefined ? binding.call(...args) : binding.call(...args, value))) as T;
      } catch (errno) {
        throw systemError(errno, syscall, path ?? undefined);
      }
    };
    // A path takes the l* call (a = 1: no symlink following); a descriptor the f* call (a = fd).
    const xattr = <T>(op: number, syscall: string, target: XattrTarget, name: string | null, value?: string) =>
      typeof target === "number" ? call<T>(op, `f${syscall}`, null, name, target, 0, value) : call<T>(op, `l${syscall}`, target, name, 1, 0, value);
    return {
      user,
      open: (path, flags, mode = 0o666) => call<number>(Op.open, "open", path, null, flags, mode),
      mkdir: (path, mode) => call<void>(Op.mkdir, "mkdir", path, null, 0, mode),
      rename: (from, to) => call<void>(Op.rename, "rename", from, to),
      unlink: (path) => call<void>(Op.unlink, "unlink", path),
      rmdir: (path) => call<void>(Op.rmdir, "rmdir", path),
      readdir: (path, options) => call<string[]>(Op.readdir, "scandir", path, null, options?.noFollow ? 1 : 0),
      realpath: (path) => call<string>(Op.realpath, "realpath", path),
      readlink: (path) => call<string>(Op.readlink, "readlink", path),
      stat: async (path) => toStat(await call<BigInt64Array>(Op.stat, "stat", path, null, 0)),
      lstat: async (path) => toStat(await call<BigInt64Array>(Op.stat, "lstat", path, null, 1)),
      fchmod: (fd, mode) => call<void>(Op.fchmod, "fchmod", null, null, fd, mode),
      listxattr: (target) => xattr<string[]>(Op.listxattr, "listxattr", target, null),
      getxattr: (target, name) => xattr<string>(Op.getxattr, "getxattr", target, name),
      setxattr: (target, name, value) => xattr<void>(Op.setxattr, "setxattr", target, name, value),
      removexattr: (target, name) => xattr<void>(Op.removexattr, "removexattr", target, name),
    };
  };
}
