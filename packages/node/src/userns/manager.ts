import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { NodeError } from "../errors.js";
import { readMounts } from "../storage/mountinfo.js";
import { unmountUnder } from "../storage/unmount.js";
import { isSandboxId } from "../storage/validate.js";
import type { NsHelper } from "./ns-helper.js";
import { createUidRanges, idsPerSandbox, type UidRangeOptions } from "./ranges.js";
import type { Spawner } from "@cove/protocol/spawner";

/** One sandbox's user namespace, as persisted in its record for re-adoption. */
export interface SandboxUserns {
  /** The bind mount that keeps the namespace alive: OCI `linux.namespaces[user].path`. */
  path: string;
  /** Host uid (and gid) that is root inside. */
  uidBase: number;
  size: number;
}

export interface UsernsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface UsernsManagerOptions extends UidRangeOptions {
  dataDir: string;
  /** Where templates live: init checks the kernel can idmap a mount of it. */
  templatesDir: string;
  helper: NsHelper;
  logger?: UsernsLogger;
  /** Starts its umount commands (the node's cove-spawn helper); Node's child_process without it. */
  spawner?: Spawner;
}

/**
 * Owns each sandbox's user namespace: a block of host ids, and the namespace pinned at
 * `<dataDir>/userns/<id>` so the sandbox's network namespace and idmapped mounts can be made
 * before its container exists, and so it outlives a node restart.
 */
export interface UsernsManager {
  init(): Promise<void>;
  create(sandboxId: string): Promise<SandboxUserns>;
  /** A network namespace owned by the sandbox's user namespace, pinned at `netnsPath`. */
  createNetns(userns: SandboxUserns, netnsPath: string): Promise<void>;
  /** Takes a sandbox's namespace back after a node restart; not_found if its pin is gone. */
  adopt(sandboxId: string, userns: SandboxUserns): Promise<void>;
  /** Unpins the namespace and frees its ids (idempotent; works without the record). */
  release(sandboxId: string, userns?: SandboxUserns): Promise<void>;
  /** Releases pins of sandboxes neither in `keep` nor held here; returns their ids. */
  cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]>;
}

export function createUsernsManager(options: UsernsManagerOptions): UsernsManager {
  const root = join(options.dataDir, "userns");
  const ranges = createUidRanges(options);
  const held = new Map<string, number>();
  const pinOf = (sandboxId: string) => join(root, sandboxId);

  const unpin = async (pin: string) => {
    const left = await unmountUnder([pin], undefined, options.spawner);
    if (left.length > 0) throw new NodeError("runtime_failed", `user namespace pin ${pin} is still mounted`);
    await rm(pin, { force: true });
  };

  /** Fails start-up, not the first create, on a host that cannot idmap the templates' filesystem. */
  const probe = async () => {
    const pin = join(root, `.probe-${process.pid}`);
    const target = `${pin}-mount`;
    await unpin(pin);
    await mkdir(options.templatesDir, { recursive: true });
    await mkdir(target, { recursive: true });
    try {
      await options.helper.createUserns(options.base, idsPerSandbox, pin);
      await options.helper.idmapMount(pin, options.templatesDir, target, { readonly: true });
    } catch (err) {
      throw new NodeError(
        "unavailable",
        `this host cannot give sandboxes their own user namespace (Linux >= 5.19 with idmapped mounts on the templates' filesystem is needed): ${err instanceof Error ? err.message : String(err)}. COVE_SANDBOX_USERNS=off runs sandboxes without one (root inside is then root on the host)`,
        { cause: err },
      );
    } finally {
      await unmountUnder([target], undefined, options.spawner);
      await rm(target, { recursive: true, force: true });
      await unpin(pin);
    }
  };

  return {
    async init() {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await probe();
    },

    async create(sandboxId) {
      if (held.has(sandboxId)) throw new NodeError("invalid_argument", `sandbox ${sandboxId} already has a user namespace`);
      const uidBase = ranges.allocate();
      held.set(sandboxId, uidBase);
      const path = pinOf(sandboxId);
      try {
        await options.helper.createUserns(uidBase, idsPerSandbox, path);
      } catch (err) {
        held.delete(sandboxId);
        ranges.release(uidBase);
        throw err;
      }
      return { path, uidBase, size: idsPerSandbox };
    },

    async createNetns(userns, netnsPath) {
      await mkdir(dirname(netnsPath), { recursive: true });
      await options.helper.createNetns(userns.path, netnsPath);
    },

    async adopt(sandboxId, userns) {
      const pinned = (await readMounts()).some((m) => m.mountPoint === userns.path && m.fsType === "nsfs");
      if (!pinned || userns.path !== pinOf(sandboxId)) {
        throw new NodeError("not_found", `user namespace of sandbox ${sandboxId} (${userns.path}) no longer exists`);
      }
      if (held.get(sandboxId) === userns.uidBase) return;
      if (!ranges.claim(userns.uidBase)) {
        throw new NodeError("runtime_failed", `uid range ${userns.uidBase} of sandbox ${sandboxId} is not free`);
      }
      held.set(sandboxId, userns.uidBase);
    },

    async release(sandboxId, userns) {
      await unpin(pinOf(sandboxId));
      const uidBase = held.get(sandboxId) ?? userns?.uidBase;
      held.delete(sandboxId);
      if (uidBase !== undefined) ranges.release(uidBase);
    },

    async cleanupOrphans(keep) {
      const removed: string[] = [];
      for (const name of await readdir(root).catch(() => [] as string[])) {
        if (!isSandboxId(name) || keep.has(name) || held.has(name)) continue; // .probe-* included: not an id
        await unpin(join(root, name));
        removed.push(name);
      }
      if (removed.length > 0) options.logger?.info({ sandboxIds: removed }, "removed orphaned user namespaces");
      return removed;
    },
  };
}
