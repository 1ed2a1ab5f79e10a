import type { IncomingHttpHeaders } from "node:http";
import { EnvdError, fromErrno } from "./errors.js";
import type { UserFs, XattrTarget } from "./user-fs.js";

/**
 * File metadata as E2B stores it: one `user.e2b.<key>` extended attribute
 * per entry, keys lowercased. Uploads carry it as `X-Metadata-<Key>` headers.
 */
export type FileMetadata = Record<string, string>;

const XATTR_PREFIX = "user.e2b.";
const HEADER_PREFIX = "x-metadata-";

/** The `X-Metadata-*` headers of a request (keys lowercased; empty keys dropped; the first of repeated values). */
export function metadataFromHeaders(headers: IncomingHttpHeaders): FileMetadata {
  const metadata: FileMetadata = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase().startsWith(HEADER_PREFIX) ? name.slice(HEADER_PREFIX.length).toLowerCase() : "";
    const first = Array.isArray(value) ? value[0] : value;
    if (key && first !== undefined) metadata[key] = first;
  }
  return metadata;
}

function isUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOTSUP" || code === "EOPNOTSUPP";
}

/**
 * A file's metadata, read as the user. Reading never fails: a filesystem
 * without user xattrs (ENOTSUP), an entry that cannot carry them (symlink,
 * device) or one the user may not read reports none.
 */
export async function readMetadata(fs: UserFs, target: XattrTarget): Promise<FileMetadata> {
  const metadata: FileMetadata = {};
  const names = await fs.listxattr(target).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(XATTR_PREFIX)) continue;
    const value = await fs.getxattr(target, name).catch(() => undefined);
    if (value !== undefined) metadata[name.slice(XATTR_PREFIX.length)] = value;
  }
  return metadata;
}

/**
 * Makes `metadata` the file's whole metadata through a descriptor the user
 * opened: keys it lacks are removed (an overwrite replaces the set). With
 * metadata asked for, a filesystem without user xattrs is a clear error
 * (`metadata_unsupported`, HTTP 400) rather than a silent drop; with none
 * asked for, there is nothing to store or clear there, so it passes.
 */
export async function replaceMetadata(fs: UserFs, fd: number, metadata: FileMetadata, path: string): Promise<void> {
  const wanted = Object.keys(metadata).length > 0;
  try {
    for (const name of await fs.listxattr(fd)) {
      if (name.startsWith(XATTR_PREFIX) && !Object.hasOwn(metadata, name.slice(XATTR_PREFIX.length))) await fs.removexattr(fd, name);
    }
    for (const [key, value] of Object.entries(metadata)) await fs.setxattr(fd, XATTR_PREFIX + key, value);
  } catch (err) {
    if (isUnsupported(err)) {
      if (!wanted) return;
      throw new EnvdError("metadata_unsupported", `file metadata is not supported by the filesystem of '${path}' (it has no user extended attributes)`, {
        cause: err,
      });
    }
    throw fromErrno(err, path);
  }
}
