import { randomBytes } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { EnvdError } from "../../errors.js";
import { guard } from "./request.js";
import { startDirWatch, type DirWatch } from "./watch-helper.js";
import { resolveWatchTarget, toFilesystemEvent, type FilesystemEventInit } from "./watch-target.js";

/** Events a polling watcher keeps between GetWatcherEvents calls; older ones are dropped beyond it. */
const MAX_BUFFERED_EVENTS = 100_000;

interface PollingWatcher {
  watch: DirWatch;
  events: FilesystemEventInit[];
  /** Serialises entry lookups so buffered events keep their order. */
  pending: Promise<void>;
  dropped: number;
  failure: EnvdError | undefined;
}

export interface WatcherRegistry {
  impl: Pick<ServiceImpl<typeof Filesystem>, "createWatcher" | "getWatcherEvents" | "removeWatcher">;
  /** Stops every polling watcher. */
  close(): Promise<void>;
}

/**
 * The polling watcher variant (CreateWatcher / GetWatcherEvents /
 * RemoveWatcher), used by SDKs other than the JS one: events are buffered
 * per watcher id until drained. Watchers live until removed or envd closes.
 */
export function createWatcherRegistry(ctx: EnvdContext): WatcherRegistry {
  const watchers = new Map<string, PollingWatcher>();

  const find = (id: string): PollingWatcher => {
    const watcher = watchers.get(id);
    if (!watcher) throw new EnvdError("not_found", `watcher with id '${id}' not found`);
    return watcher;
  };

  return {
    impl: {
      createWatcher: (req, handler) =>
        guard(ctx, "CreateWatcher", async () => {
          const target = await resolveWatchTarget(ctx, handler, req);
          const id = `w${randomBytes(8).toString("hex")}`;
          const watcher: PollingWatcher = {
            watch: startDirWatch({
              helper: ctx.config.watchHelper,
              runAs: { user: target.fs.user, execHelper: ctx.config.execHelper },
              hostDir: target.hostPath,
              recursive: target.recursive,
              log: ctx.log,
              onEvent: (raw) => {
                watcher.pending = watcher.pending.then(async () => {
                  watcher.events.push(await toFilesystemEvent(ctx, target, raw));
                  if (watcher.events.length > MAX_BUFFERED_EVENTS) {
                    watcher.events.shift();
                    if (watcher.dropped++ === 0) ctx.log.warn({ id }, "watcher buffer full; dropping oldest events");
                  }
                });
              },
              onFailure: (err) => {
                watcher.failure = err;
              },
            }),
            events: [],
            pending: Promise.resolve(),
            dropped: 0,
            failure: undefined,
          };
          try {
            await watcher.watch.ready;
          } catch (err) {
            await watcher.watch.stop();
            throw err;
          }
          watchers.set(id, watcher);
          return { watcherId: id };
        }),

      getWatcherEvents: (req) =>
        guard(ctx, "GetWatcherEvents", async () => {
          const watcher = find(req.watcherId);
          await watcher.pending;
          if (watcher.failure) throw watcher.failure;
          const events = watcher.events;
          watcher.events = [];
          return { events };
        }),

      removeWatcher: (req) =>
        guard(ctx, "RemoveWatcher", async () => {
          const watcher = find(req.watcherId);
          watchers.delete(req.watcherId);
          await watcher.watch.stop();
          return {};
        }),
    },
    async close() {
      const all = [...watchers.values()];
      watchers.clear();
      await Promise.allSettled(all.map((w) => w.watch.stop()));
    },
  };
}
