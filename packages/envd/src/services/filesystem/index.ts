import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { createListDir } from "./list-dir.js";
import { createMakeDir } from "./make-dir.js";
import { createMove } from "./move.js";
import { createRemove } from "./remove.js";
import { createStat } from "./stat.js";
import { createWatchDir } from "./watch-dir.js";
import { createWatcherRegistry } from "./watchers.js";

export interface FilesystemService {
  impl: Partial<ServiceImpl<typeof Filesystem>>;
  /** Stops every watcher this service started. */
  close(): Promise<void>;
}

/** filesystem.Filesystem (spec 4.3), one file per RPC. */
export function createFilesystemService(ctx: EnvdContext): FilesystemService {
  const streams = new Set<() => Promise<void>>();
  const watchers = createWatcherRegistry(ctx);
  return {
    impl: {
      stat: createStat(ctx),
      makeDir: createMakeDir(ctx),
      move: createMove(ctx),
      listDir: createListDir(ctx),
      remove: createRemove(ctx),
      watchDir: createWatchDir(ctx, streams),
      ...watchers.impl,
    },
    async close() {
      const stops = [...streams];
      streams.clear();
      await Promise.allSettled([...stops.map((stop) => stop()), watchers.close()]);
    },
  };
}
