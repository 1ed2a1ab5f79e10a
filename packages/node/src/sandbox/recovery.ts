import { join } from "node:path";
import { applyTransition } from "../lifecycle/state-table.js";
import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { StorageManager } from "../storage/index.js";
import type { UsernsManager } from "../userns/index.js";
import type { Destroyable } from "./destroy.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";

export interface RecoveryReport {
  adopted: string[];
  removed: string[];
}

export interface RecoveryDeps {
  live: Map<string, SandboxRecord>;
  runtime: SandboxRuntime;
  network: NetworkManager;
  storage: StorageManager;
  records: RecordStore;
  userns?: UsernsManager;
  destroy: (rec: Destroyable) => Promise<void>;
  log: Logger;
}

/**
 * After a node (re)start: re-adopts every recorded sandbox that is running or paused and whose
 * container is alive, destroys the other records, directories without a record and containers
 * without either, and removes host leftovers no record points at. Adopted sandboxes go into `live`.
 */
export async function recoverSandboxes(deps: RecoveryDeps): Promise<RecoveryReport> {
  const { live, runtime, network, storage, records, userns, destroy, log } = deps;
  const adopted: string[] = [];
  const removed: string[] = [];
  const states = new Map((await runtime.list()).map((s) => [s.sandboxId, s.status]));
  const recs = await records.load();
  const known = new Set(recs.map((r) => r.sandboxId));
  for (const rec of recs) {
    const status = states.get(rec.sandboxId);
    const alive = status === "running" || status === "paused";
    // A build step's sandbox outlives the build that ran it only by a crash: its build has failed.
    if ((rec.state === "running" || rec.state === "paused") && alive && rec.network && rec.rootfs && !rec.build) {
      try {
        if (rec.userns && userns) await userns.adopt(rec.sandboxId, rec.userns);
        await network.adopt(rec.network);
        await storage.adopt(rec.rootfs);
        const dir = records.dir(rec.sandboxId);
        await runtime.adopt({ sandboxId: rec.sandboxId, dir, logFile: join(dir, "envd.log") });
        // The container is the truth: a crash between the runtime's pause (or resume) and the record's save leaves them apart.
        if (status !== rec.state) applyTransition(rec, status === "paused" ? "pause" : "resume");
        live.set(rec.sandboxId, rec);
        adopted.push(rec.sandboxId);
        continue;
      } catch (err) {
        log.warn({ sandboxId: rec.sandboxId, err }, "could not re-adopt sandbox; removing it");
      }
    }
    await destroy(rec).catch((err: unknown) => log.error({ sandboxId: rec.sandboxId, err }, "cleanup failed"));
    removed.push(rec.sandboxId);
  }
  // Directories without a record (a crash before the first save) and containers without a directory.
  for (const id of await records.ids()) {
    if (known.has(id)) continue;
    await destroy({ sandboxId: id }).catch((err: unknown) => log.error({ sandboxId: id, err }, "cleanup failed"));
    removed.push(id);
  }
  for (const id of states.keys()) {
    if (live.has(id) || known.has(id)) continue;
    await runtime.kill(id).catch((err: unknown) => log.error({ sandboxId: id, err }, "cleanup failed"));
    removed.push(id);
  }
  // Leftovers no record pointed at (netns and veth names, storage of unknown ids).
  const keep = new Set(live.keys());
  const strays = [...(await network.cleanupOrphans(keep)), ...(await storage.cleanupOrphans(keep)), ...((await userns?.cleanupOrphans(keep)) ?? [])];
  if (strays.length > 0) log.warn({ strays }, "removed leftovers of sandboxes without a record");
  return { adopted, removed };
}
