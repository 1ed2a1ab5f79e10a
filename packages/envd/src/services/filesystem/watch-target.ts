import { close, constants } from "node:fs";
import { statfs } from "node:fs/promises";
import { posix } from "node:path";
import type { HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FilesystemEventSchema } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { EnvdError, fromErrno } from "../../errors.js";
import type { UserFs } from "../../user-fs.js";
import { buildEntryInfo } from "./entry-info.js";
import { resolveDirectory } from "./request.js";
import type { RawWatchEvent } from "./watch-helper.js";

export type FilesystemEventInit = MessageInitShape<typeof FilesystemEventSchema>;

/** What WatchDir and CreateWatcher ask for. */
export interface WatchRequest {
  path: string;
  recursive: boolean;
  includeEntry: boolean;
  allowNetworkMounts: boolean;
}

export interface WatchTarget {
  /** Absolute sandbox path of the watched directory. */
  path: string;
  hostPath: string;
  recursive: boolean;
  includeEntry: boolean;
  /** The request user's file system calls: the watch and its entries are the user's. */
  fs: UserFs;
}

// statfs f_type magic numbers (linux/magic.h) of network and FUSE filesystems,
// where inotify misses changes made by other machines.
const networkFsTypes = new Set([0x6969, 0xff534d42, 0x517b, 0xfe534d42, 0x65735546]);

/**
 * Resolves and validates a watch request: the path must exist (not_found)
 * and be a directory (invalid_argument) the user may read (inotify needs
 * that; permission_denied otherwise); network mounts need
 * allowNetworkMounts (invalid_argument otherwise, as upstream).
 */
export async function resolveWatchTarget(ctx: EnvdContext, handler: HandlerContext, req: WatchRequest): Promise<WatchTarget> {
  const { path, hostPath, fs } = await resolveDirectory(ctx, handler, req.path);
  // The helper runs as the user too; opening the directory first turns a
  // refusal into permission_denied instead of a failed helper.
  try {
    const fd = await fs.open(hostPath, constants.O_RDONLY | constants.O_DIRECTORY);
    close(fd, () => undefined);
  } catch (err) {
    throw fromErrno(err, path);
  }
  if (!req.allowNetworkMounts) {
    const fs = await statfs(hostPath).catch(() => undefined);
    if (fs && networkFsTypes.has(fs.type)) {
      throw new EnvdError("invalid_argument", `cannot watch '${path}': it is on a network filesystem`);
    }
  }
  return { path, hostPath, recursive: req.recursive, includeEntry: req.includeEntry, fs };
}

/**
 * The wire event for a helper event. With includeEntry, the entry is attached
 * when the path still exists (a removed or renamed-away path has none).
 */
export async function toFilesystemEvent(ctx: EnvdContext, target: WatchTarget, raw: RawWatchEvent): Promise<FilesystemEventInit> {
  const event: FilesystemEventInit = { name: raw.name, type: raw.type };
  if (target.includeEntry) {
    const entry = await buildEntryInfo(ctx, posix.join(target.path, raw.name), target.fs).catch(() => undefined);
    if (entry) event.entry = entry;
  }
  return event;
}
