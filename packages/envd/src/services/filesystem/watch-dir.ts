import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Filesystem, WatchDirResponseSchema } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";
import { createAsyncQueue } from "./async-queue.js";
import { connectErrorFor } from "./request.js";
import { startDirWatch, type DirWatch, type RawWatchEvent } from "./watch-helper.js";
import { resolveWatchTarget, toFilesystemEvent } from "./watch-target.js";

type WatchDirResponseInit = MessageInitShape<typeof WatchDirResponseSchema>;

/** Default keepalive period when the client sends no Keepalive-Ping-Interval (upstream: 90 s). */
const DEFAULT_KEEPALIVE_SECONDS = 90;

type QueueItem = { kind: "event"; event: RawWatchEvent } | { kind: "keepalive" };

/**
 * WatchDir: `start` once the watches are in place, then one `filesystem`
 * message per change, plus `keepalive` every Keepalive-Ping-Interval seconds.
 * The helper runs until the stream ends: client gone, deadline, or
 * envd closing (`active` holds the stop functions for close()).
 */
export function createWatchDir(ctx: EnvdContext, active: Set<() => Promise<void>>): ServiceImpl<typeof Filesystem>["watchDir"] {
  return async function* watchDir(req, handler) {
    let watch: DirWatch | undefined;
    let timer: NodeJS.Timeout | undefined;
    const queue = createAsyncQueue<QueueItem>(handler.signal);
    const stop = async () => {
      clearInterval(timer);
      queue.close();
      await watch?.stop();
    };
    active.add(stop);
    try {
      const target = await resolveWatchTarget(ctx, handler, req);
      watch = startDirWatch({
        helper: ctx.config.watchHelper,
        runAs: { user: target.fs.user, execHelper: ctx.config.execHelper },
        hostDir: target.hostPath,
        recursive: target.recursive,
        log: ctx.log,
        onEvent: (event) => queue.push({ kind: "event", event }),
        onFailure: (err) => queue.close(err),
      });
      await Promise.race([watch.ready, aborted(handler.signal)]);
      if (handler.signal.aborted) return;
      yield { event: { case: "start", value: {} } } satisfies WatchDirResponseInit;
      timer = setInterval(() => queue.push({ kind: "keepalive" }), keepaliveMs(handler));
      for (;;) {
        const item = await queue.take();
        if (!item) return;
        if (item.kind === "keepalive") {
          yield { event: { case: "keepalive", value: {} } } satisfies WatchDirResponseInit;
        } else {
          const event = await toFilesystemEvent(ctx, target, item.event);
          yield { event: { case: "filesystem", value: event } } satisfies WatchDirResponseInit;
        }
      }
    } catch (err) {
      throw connectErrorFor(ctx, "WatchDir", err);
    } finally {
      active.delete(stop);
      await stop();
    }
  };
}

function keepaliveMs(handler: HandlerContext): number {
  const seconds = Number(handler.requestHeader.get("keepalive-ping-interval"));
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_KEEPALIVE_SECONDS) * 1000;
}

/** Resolves when the signal aborts (never rejects, so it can sit in a race). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
