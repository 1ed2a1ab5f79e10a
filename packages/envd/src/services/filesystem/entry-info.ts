import { posix } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type EntryInfoSchema, FileType } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { fromErrno } from "../../errors.js";
import { readMetadata } from "../../file-metadata.js";
import { toHostPath, toSandboxPath } from "../../paths.js";
import type { FileStat, UserFs } from "../../user-fs.js";
import type { UserDb } from "../../users.js";
import { fileModeString, permissionBits } from "./file-mode.js";

export type EntryInfoInit = MessageInitShape<typeof EntryInfoSchema>;

/**
 * Owner and group names memoised for one request, so listing a large tree
 * does not re-read /etc/passwd per entry.
 */
export interface OwnerNames {
  user(uid: number): Promise<string>;
  group(gid: number): Promise<string>;
}

export function createOwnerNames(users: UserDb): OwnerNames {
  const userNames = new Map<number, Promise<string>>();
  const groupNames = new Map<number, Promise<string>>();
  const memo = (cache: Map<number, Promise<string>>, id: number, load: (id: number) => Promise<string>) => {
    let name = cache.get(id);
    if (!name) {
      name = load(id);
      cache.set(id, name);
    }
    return name;
  };
  return {
    user: (uid) => memo(userNames, uid, (id) => users.userName(id)),
    group: (gid) => memo(groupNames, gid, (id) => users.groupName(id)),
  };
}

/**
 * EntryInfo for an absolute sandbox path, from lstat (the entry itself, not
 * what it points to). Semantics follow upstream envd: a symlink reports the
 * type and permission bits of its final target plus `symlinkTarget` (the
 * fully resolved path); a broken link reports FILE_TYPE_UNSPECIFIED, mode 0
 * and the raw link text. `permissions` is always the entry's own Go mode
 * string ("Lrwxrwxrwx" for links). `metadata` is the entry's own `user.e2b.*`
 * xattrs (a symlink's, which Linux never has: its target's are not followed);
 * none when they cannot be read.
 * Every lookup is made as the user `fs` acts for. Throws not_found (and
 * friends) through fromErrno.
 */
export async function buildEntryInfo(ctx: EnvdContext, sandboxPath: string, fs: UserFs, names?: OwnerNames): Promise<EntryInfoInit> {
  const hostPath = toHostPath(ctx.config.root, sandboxPath);
  let stats: FileStat;
  try {
    stats = await fs.lstat(hostPath);
  } catch (err) {
    throw fromErrno(err, sandboxPath);
  }
  return entryFromStats(ctx, sandboxPath, stats, fs, names ?? createOwnerNames(ctx.users));
}

export async function entryFromStats(ctx: EnvdContext, sandboxPath: string, stats: FileStat, fs: UserFs, names: OwnerNames): Promise<EntryInfoInit> {
  const hostPath = toHostPath(ctx.config.root, sandboxPath);
  const mode = stats.mode;
  let type = fileTypeOf(stats);
  let perm = permissionBits(mode);
  let symlinkTarget: string | undefined;
  if (stats.kind === "symlink") {
    const target = await resolveLink(fs, hostPath);
    if (target) {
      type = fileTypeOf(target.stats);
      perm = permissionBits(target.stats.mode);
      symlinkTarget = toSandboxPath(ctx.config.root, target.path);
    } else {
      type = FileType.UNSPECIFIED;
      perm = 0;
      symlinkTarget = await fs.readlink(hostPath).catch(() => sandboxPath);
    }
  }
  const [owner, group, metadata] = await Promise.all([
    names.user(stats.uid),
    names.group(stats.gid),
    stats.kind === "symlink" ? {} : readMetadata(fs, hostPath),
  ]);
  const entry: EntryInfoInit = {
    name: posix.basename(sandboxPath) || "/",
    type,
    path: sandboxPath,
    size: stats.size,
    mode: perm,
    permissions: fileModeString(mode),
    owner,
    group,
    modifiedTime: { seconds: stats.mtimeNs / 1_000_000_000n, nanos: Number(stats.mtimeNs % 1_000_000_000n) },
    metadata,
  };
  if (symlinkTarget !== undefined) entry.symlinkTarget = symlinkTarget;
  return entry;
}

const fileTypes: Record<FileStat["kind"], FileType> = {
  file: FileType.FILE,
  directory: FileType.DIRECTORY,
  symlink: FileType.SYMLINK,
  other: FileType.UNSPECIFIED,
};

function fileTypeOf(stats: FileStat): FileType {
  return fileTypes[stats.kind];
}

async function resolveLink(fs: UserFs, hostPath: string): Promise<{ path: string; stats: FileStat } | undefined> {
  try {
    const path = await fs.realpath(hostPath);
    return { path, stats: await fs.stat(path) };
  } catch {
    return undefined;
  }
}
