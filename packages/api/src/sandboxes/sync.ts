import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SandboxEventReason, SandboxEventType, SandboxState } from "@cove/protocol/nodeapi";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { Logger } from "pino";
import type { SandboxService } from "./service.js";
import type { EventReason, SandboxStore } from "./store.js";

export interface SyncOptions {
  node: NodeClient;
  service: SandboxService;
  store: SandboxStore;
  logger: Logger;
  /** How often the reconciler runs besides after each (re)connect. Default 60 s. */
  reconcileEveryMs?: number;
  /** A node sandbox without a record younger than this is a create in flight, not an orphan. Default 30 s. */
  orphanGraceMs?: number;
}

export interface Sync {
  /** Resolves after the first reconcile (or its failure), so a fresh api starts from the node's truth. */
  ready: Promise<void>;
  reconcile(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

export interface ReconcileReport {
  /** Records the node no longer has: closed as killed (reason error). */
  lost: string[];
  /** Node sandboxes without a record: killed on the node. */
  orphans: string[];
  /** Records whose state differed from the node's: corrected. */
  corrected: string[];
}

const reasonOf: Record<SandboxEventReason, EventReason> = {
  [SandboxEventReason.UNSPECIFIED]: "error",
  [SandboxEventReason.REQUEST]: "request",
  [SandboxEventReason.TIMEOUT]: "timeout",
  [SandboxEventReason.ERROR]: "error",
};

/**
 * Keeps records in step with the node: follows WatchEvents (reconnecting with
 * backoff) and reconciles both directions after every connect and periodically.
 */
export function startSync(options: SyncOptions): Sync {
  const { node, service, store, logger } = options;
  const stopping = new AbortController();
  const graceMs = options.orphanGraceMs ?? 30_000;

  async function reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { lost: [], orphans: [], corrected: [] };
    const { sandboxes } = await node.listSandboxes({});
    const onNode = new Map(sandboxes.map((s) => [s.sandboxId, s]));
    const records = await store.listActive();
    const recorded = new Set(records.map((r) => r.sandbox_id));
    for (const row of records) {
      const live = onNode.get(row.sandbox_id);
      if (live === undefined) {
        // A create's record lands after the node has the sandbox, never before, so this is a real loss.
        await service.lost(row, "the node no longer has this sandbox");
        report.lost.push(row.sandbox_id);
        continue;
      }
      const state = live.state === SandboxState.PAUSED ? "paused" : "running";
      if (state !== row.state) {
        await service.applyNodeState(row.sandbox_id, live);
        report.corrected.push(row.sandbox_id);
      }
    }
    for (const s of sandboxes) {
      if (recorded.has(s.sandboxId)) continue;
      const age = s.startedAt ? Date.now() - timestampDate(s.startedAt).getTime() : Infinity;
      if (age < graceMs) continue;
      // Nobody can reach a sandbox without a record; it would only burn resources until its timeout.
      logger.warn({ sandboxId: s.sandboxId }, "killing a sandbox that has no record");
      await node.killSandbox({ sandboxId: s.sandboxId }).catch((err: unknown) => logger.warn({ err, sandboxId: s.sandboxId }, "orphan kill failed"));
      report.orphans.push(s.sandboxId);
    }
    if (report.lost.length + report.orphans.length + report.corrected.length > 0) logger.info(report, "reconciled with the node");
    return report;
  }

  async function safeReconcile(): Promise<void> {
    try {
      await reconcile();
    } catch (err) {
      if (!stopping.signal.aborted) logger.warn({ err }, "reconcile failed");
    }
  }

  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));

  async function follow(): Promise<void> {
    let backoff = 200;
    while (!stopping.signal.aborted) {
      try {
        const stream = node.watchEvents({}, { signal: stopping.signal });
        // Events from now on are seen; reconcile covers what happened before.
        const first = safeReconcile().then(markReady);
        for await (const { event } of stream) {
          backoff = 200;
          if (event === undefined) continue;
          const at = event.at ? timestampDate(event.at) : new Date();
          const reason = reasonOf[event.reason];
          try {
            if (event.type === SandboxEventType.KILLED) await service.recordNodeKill(event.sandboxId, reason, event.message, at);
            else if (event.type === SandboxEventType.PAUSED) await service.recordNodePause(event.sandboxId, event.sandbox, reason, at);
            else if (event.type === SandboxEventType.RESUMED) await service.recordNodeResume(event.sandboxId, event.sandbox, at);
          } catch (err) {
            logger.warn({ err, sandboxId: event.sandboxId }, "applying a node event failed");
          }
        }
        await first;
      } catch (err) {
        if (stopping.signal.aborted) break;
        markReady();
        logger.warn({ err, retryInMs: backoff }, "node event stream ended; reconnecting");
      }
      // Wakes early on stop(), so stop() never waits out a backoff.
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        stopping.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            r();
          },
          { once: true },
        );
      });
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  const following = follow();
  const timer = setInterval(() => void safeReconcile(), options.reconcileEveryMs ?? 60_000);
  timer.unref();

  return {
    ready,
    reconcile,
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await following;
    },
  };
}
