import { NodeError } from "../errors.js";
import type { NetworkManager } from "../network/index.js";
import type { SandboxRuntime } from "../runtime/runtime.js";
import type { StorageManager } from "../storage/index.js";
import type { UsernsManager } from "../userns/index.js";
import type { Logger } from "./logger.js";
import type { RecordStore, SandboxRecord } from "./records.js";

export interface DestroyDeps {
  runtime: SandboxRuntime;
  network: NetworkManager;
  storage: StorageManager;
  records: RecordStore;
  userns?: UsernsManager;
  log: Logger;
}

/** What destroy needs of a record; a bare id cleans up after a crash that left no record. */
export type Destroyable = Pick<SandboxRecord, "sandboxId" | "network" | "rootfs" | "userns">;

/**
 * Removes everything a sandbox owns. Every step runs even if an earlier one failed; the
 * directory goes only when all succeeded, so nothing still mounted is deleted under it.
 */
export function createDestroy(deps: DestroyDeps): (rec: Destroyable, afterStop?: AfterStop) => Promise<void> {
  const { runtime, network, storage, records, userns, log } = deps;
  return async (rec, afterStop) => {
    const id = rec.sandboxId;
    const problems: string[] = [];
    /** Each failure with its causes (the tool's own words, e.g. EBUSY from ip), for the log only. */
    const causes: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        causes.push(`${what}: ${causeChain(err)}`);
      }
    };
    await step("runtime", () => runtime.kill(id));
    // Nothing runs in the sandbox any more and its disk is still mounted: the build's moment.
    let harvest: unknown;
    if (afterStop && problems.length === 0) await afterStop(rec).catch((err: unknown) => (harvest = err ?? new Error("harvest failed")));
    const net = rec.network;
    if (net) await step("network", () => network.teardown(net));
    await step("storage", () => storage.release(id, rec.rootfs));
    if (userns) await step("user namespace", () => userns.release(id, rec.userns));
    if (problems.length === 0) await step("files", () => records.remove(id));
    if (problems.length > 0) {
      log.error({ sandboxId: id, problems: causes }, "sandbox cleanup incomplete");
      throw new NodeError("runtime_failed", `cleanup of sandbox ${id} incomplete: ${problems.join("; ")}`);
    }
    if (harvest !== undefined) throw harvest;
  };
}

/** Runs between stopping a sandbox and releasing its storage (a build step reads its writable layer). */
export type AfterStop = (rec: Destroyable) => Promise<void>;

/** An error's message followed by its causes' (a few levels deep). */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(" <- ");
}
