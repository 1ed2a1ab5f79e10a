import { chmod, chown, mkdir, readdir, readFile, realpath, rm, rmdir, stat, statfs } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { NodeError } from "../errors.js";
import { attachLoop, createExt4Image, mountLoop } from "./ext4-image.js";
import { detachLoop, detachLoopsUnder, listLoopDevices } from "./loop-devices.js";
import { isAtOrBelow, readMounts } from "./mountinfo.js";
import { createKeyedMutex } from "./mutex.js";
import { mountOverlay } from "./overlay.js";
import { createSpareImages } from "./spare-images.js";
import { sandboxesRoot, sandboxPaths, storageRoot, type SandboxPaths } from "./paths.js";
import type { PrepareOptions, SandboxRootfs, StorageHandle, StorageManager, StorageOptions } from "./types.js";
import { unmountUnder } from "./unmount.js";
import { isSandboxId, validateDiskBytes, validateLowerDir, validateMountPath, validateSandboxId } from "./validate.js";

/**
 * One sparse ext4 image per sandbox, loop-mounted, holding the overlay's upper and work dirs.
 * The image's size is the disk limit: a full disk is a real ENOSPC and `df` inside shows it.
 * Why this and not a shared pool with project quotas: docs/decisions/0007-sandbox-disk-limits.md.
 */
export function createStorageManager(options: StorageOptions): StorageManager {
  validateMountPath(options.dataDir, "dataDir");
  const logger = options.logger;
  const spawner = options.spawner;
  const inUse = new Set<string>();
  /** Per-sandbox queue, so prepare/release/adopt of one id never interleave. */
  const locks = createKeyedMutex();
  /** One loop attach at a time (see attachLoop). */
  const attachLock = createKeyedMutex();
  let initialized: Promise<string> | undefined;
  const spares = createSpareImages(join(options.dataDir, "storage", "spare"), options.spareImages ?? 0, spawner, logger);

  /** Resolves to the real data dir path: mountinfo shows resolved paths, and we compare against it. */
  function ready(): Promise<string> {
    initialized ??= initialize().catch((err: unknown) => {
      initialized = undefined;
      throw err;
    });
    return initialized;
  }

  async function initialize(): Promise<string> {
    const filesystems = await readFile("/proc/filesystems", "utf8");
    for (const fs of ["ext4", "overlay"]) {
      if (!new RegExp(`\\s${fs}$`, "m").test(filesystems)) throw new NodeError("unavailable", `the kernel has no ${fs} filesystem`);
    }
    if (!(await exists("/dev/loop-control"))) throw new NodeError("unavailable", "no /dev/loop-control: the kernel has no loop devices");
    await mkdir(storageRoot(options.dataDir), { recursive: true });
    // Spares a previous run made are plain files, never mounted: start from none.
    await spares.clear();
    const dataDir = await realpath(options.dataDir);
    validateMountPath(dataDir, "dataDir (resolved)");
    return dataDir;
  }

  const withLock = <T>(sandboxId: string, fn: () => Promise<T>): Promise<T> => locks.run(sandboxId, fn);

  async function mountDisk(paths: SandboxPaths): Promise<void> {
    const device = await attachLock.run("loop", () => attachLoop(paths.image, spawner));
    await mountLoop(device, paths.diskDir, spawner);
  }

  async function claimOrCreateImage(image: string, diskBytes: number): Promise<void> {
    if (!(await spares.claim(diskBytes, image))) await createExt4Image(image, diskBytes, spawner);
    spares.refill(diskBytes);
  }

  /** Free space on the host's data dir must cover the whole disk: a sparse image that outgrows the host turns into EIO inside. */
  async function checkHostSpace(dataDir: string, diskBytes: number): Promise<void> {
    const fsStats = await statfs(dataDir);
    const available = fsStats.bavail * fsStats.bsize;
    if (available < diskBytes) {
      throw new NodeError("unavailable", `the node has ${available} bytes of disk free, less than the ${diskBytes} asked for`);
    }
  }

  async function teardown(paths: SandboxPaths): Promise<void> {
    const device = (await readMounts()).find((m) => m.mountPoint === paths.diskDir && m.source.startsWith("/dev/loop"))?.source;
    const left = await unmountUnder([paths.rootfs, paths.storageDir], logger, spawner);
    if (left.length > 0) throw new NodeError("runtime_failed", `still mounted after unmount: ${left.join(", ")}`);
    if (device) {
      await detachLoop(device, paths.image, spawner);
    } else if (await exists(paths.storageDir)) {
      // Half-prepared (a crash between losetup and mount): find the device by its backing file.
      const detached = await detachLoopsUnder(paths.storageDir, spawner);
      if (detached.length > 0) logger?.warn({ devices: detached, storageDir: paths.storageDir }, "detached stale loop devices");
    }
    // Nothing is mounted below these any more, so recursive removal stays on the host fs we own.
    await rm(paths.rootfs, { recursive: true, force: true });
    await rmdirIfEmpty(paths.sandboxDir);
    await rm(paths.storageDir, { recursive: true, force: true });
  }

  function handleOf(paths: SandboxPaths, lowerDir: string, layers: string[], upper: PrepareOptions["upper"], idmap: PrepareOptions["idmap"]): StorageHandle {
    return {
      kind: "ext4-image",
      lowerDir,
      image: paths.image,
      diskDir: paths.diskDir,
      ...(layers.length > 0 ? { layers: layers.join(":") } : {}),
      ...upper,
      ...idmap,
    };
  }

  /** The template, read-only and idmapped through the sandbox's user namespace, as the overlay's lower layer. */
  async function mountIdmappedLower(usernsPath: string, lower: string, target: string): Promise<void> {
    if (!options.idmapMount) throw new NodeError("unavailable", "storage was created without an idmap mounter");
    await mkdir(target, { recursive: true });
    await options.idmapMount(usernsPath, lower, target, { readonly: true });
  }

  return {
    async init() {
      await ready();
    },

    async prepare(sandboxId: string, { lowerDir, layers = [], upper, diskBytes, idmap }: PrepareOptions): Promise<SandboxRootfs> {
      validateSandboxId(sandboxId);
      validateDiskBytes(diskBytes);
      await Promise.all([lowerDir, ...layers].map((dir) => validateLowerDir(dir)));
      if (upper) for (const [what, dir] of Object.entries(upper)) validateMountPath(dir, `upper.${what}`);
      const dataDir = await ready();
      const [lower, ...stacked] = await Promise.all([lowerDir, ...layers].map((dir) => realpath(dir)));
      if (lower === undefined) throw new NodeError("invalid_argument", "lowerDir is missing");
      for (const dir of [lower, ...stacked]) validateMountPath(dir, "lowerDir (resolved)");
      return withLock(sandboxId, async () => {
        const paths = sandboxPaths(dataDir, sandboxId);
        const [taken, lowerRoot] = await Promise.all([exists(paths.storageDir), stat(lower), checkHostSpace(dataDir, diskBytes)]);
        if (inUse.has(sandboxId) || taken) {
          throw new NodeError("invalid_argument", `sandbox ${sandboxId} already has storage; release it first`);
        }
        const shift = idmap?.uidBase ?? 0;
        const writable = upper ?? { upperDir: paths.upperDir, workDir: paths.workDir };
        try {
          await Promise.all([mkdir(paths.diskDir, { recursive: true }), mkdir(paths.rootfs, { recursive: true })]);
          // The OCI runtime sets up binds of the sandbox's files from inside its user
          // namespace, as the sandbox's root: only that group may pass, nobody else.
          if (idmap) await Promise.all([chown(paths.storageDir, 0, idmap.uidBase), chmod(paths.storageDir, 0o710)]);
          const lowers = [lower, ...stacked];
          await Promise.all([
            claimOrCreateImage(paths.image, diskBytes).then(() => mountDisk(paths)),
            ...(idmap ? lowers.map((dir, i) => mountIdmappedLower(idmap.usernsPath, dir, layerMount(paths, i))) : []),
          ]);
          await Promise.all([upper ? undefined : mkdir(paths.upperDir), upper ? undefined : mkdir(paths.workDir), mkdir(paths.filesDir)]);
          // The upper dir's owner and mode are what the sandbox sees as "/". With a user
          // namespace the writable layer holds the host ids the sandbox's ids map to.
          await chown(writable.upperDir, lowerRoot.uid + shift, lowerRoot.gid + shift);
          await chmod(writable.upperDir, lowerRoot.mode & 0o7777);
          await chown(paths.filesDir, shift, shift);
          await mountOverlay({ lowerDir: overlayLowers(idmap ? lowers.map((_, i) => layerMount(paths, i)) : lowers), ...writable }, paths.rootfs, spawner);
        } catch (err) {
          await teardown(paths).catch((cleanupErr: unknown) => logger?.warn({ sandboxId, err: String(cleanupErr) }, "cleanup after failed prepare failed"));
          throw asNodeError(err, `cannot prepare storage for sandbox ${sandboxId}`);
        }
        inUse.add(sandboxId);
        return {
          sandboxId,
          rootfs: paths.rootfs,
          filesDir: paths.filesDir,
          upperDir: writable.upperDir,
          diskBytes,
          handle: handleOf(paths, lower, stacked, upper, idmap),
        };
      });
    },

    async release(sandboxId: string, rootfs?: SandboxRootfs): Promise<void> {
      validateSandboxId(sandboxId);
      if (rootfs && rootfs.sandboxId !== sandboxId) {
        throw new NodeError("invalid_argument", `rootfs of ${rootfs.sandboxId} passed to release ${sandboxId}`);
      }
      const dataDir = await ready();
      await withLock(sandboxId, async () => {
        try {
          await teardown(sandboxPaths(dataDir, sandboxId));
        } catch (err) {
          throw asNodeError(err, `cannot release storage of sandbox ${sandboxId}`);
        }
        inUse.delete(sandboxId);
      });
    },

    async adopt(rootfs: SandboxRootfs): Promise<void> {
      validateSandboxId(rootfs.sandboxId);
      const handle = parseHandle(rootfs.handle);
      const dataDir = await ready();
      const paths = sandboxPaths(dataDir, rootfs.sandboxId);
      if (rootfs.rootfs !== paths.rootfs || handle.image !== paths.image) {
        throw new NodeError("invalid_argument", `sandbox ${rootfs.sandboxId} was prepared under another data dir (${rootfs.rootfs})`);
      }
      await withLock(rootfs.sandboxId, async () => {
        const mounts = await readMounts();
        const mountedAt = (path: string, fsType: string) => mounts.some((m) => m.mountPoint === path && m.fsType === fsType);
        try {
          if (!mountedAt(paths.rootfs, "overlay")) {
            const lowers = [handle.lowerDir, ...(handle.layers ? handle.layers.split(":") : [])];
            await Promise.all(lowers.map((dir) => validateLowerDir(dir)));
            if (!mountedAt(paths.diskDir, "ext4")) {
              if (!(await exists(paths.image))) throw new NodeError("not_found", `sandbox ${rootfs.sandboxId} has no disk image`);
              // Unmounted by hand or by a crash, not a reboot: the old loop device may still hold the image.
              await detachLoopsUnder(paths.storageDir, spawner);
              await mountDisk(paths);
            }
            let mounted = lowers;
            const usernsPath = handle.usernsPath;
            if (usernsPath !== undefined) {
              // The idmapped mount shows the template's own filesystem type.
              mounted = lowers.map((_, i) => layerMount(paths, i));
              await Promise.all(
                lowers.map((dir, i) =>
                  mounts.some((m) => m.mountPoint === layerMount(paths, i)) ? undefined : mountIdmappedLower(usernsPath, dir, layerMount(paths, i)),
                ),
              );
            }
            const writable =
              handle.upperDir && handle.workDir ? { upperDir: handle.upperDir, workDir: handle.workDir } : { upperDir: paths.upperDir, workDir: paths.workDir };
            await mountOverlay({ lowerDir: overlayLowers(mounted), ...writable }, paths.rootfs, spawner);
            logger?.info({ sandboxId: rootfs.sandboxId }, "remounted sandbox storage");
          }
        } catch (err) {
          throw asNodeError(err, `cannot adopt storage of sandbox ${rootfs.sandboxId}`);
        }
        inUse.add(rootfs.sandboxId);
      });
    },

    async usage(sandboxId: string): Promise<number> {
      validateSandboxId(sandboxId);
      const paths = sandboxPaths(await ready(), sandboxId);
      // A mount point has another device than its parent; without this check statfs would report the host's disk.
      const [disk, parent] = await Promise.all([stat(paths.diskDir).catch(() => undefined), stat(paths.storageDir).catch(() => undefined)]);
      if (!disk || !parent || disk.dev === parent.dev) throw new NodeError("not_found", `sandbox ${sandboxId} has no mounted disk`);
      const fsStats = await statfs(paths.diskDir);
      return (fsStats.blocks - fsStats.bfree) * fsStats.bsize;
    },

    async cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]> {
      const dataDir = await ready();
      const candidates = await findSandboxIds(dataDir);
      const orphans = [...candidates].filter((id) => !keep.has(id) && !inUse.has(id) && !locks.busy().includes(id)).sort();
      const removed: string[] = [];
      for (const sandboxId of orphans) {
        await withLock(sandboxId, () => teardown(sandboxPaths(dataDir, sandboxId)));
        removed.push(sandboxId);
      }
      if (removed.length > 0) logger?.info({ sandboxIds: removed }, "removed orphaned sandbox storage");
      return removed;
    },

    close: () => spares.clear(),

    async destroy(): Promise<void> {
      const busy = [...new Set([...inUse, ...locks.busy()])];
      if (busy.length > 0) {
        throw new NodeError("unavailable", `storage still in use by ${busy.join(", ")}`);
      }
      const dataDir = await ready();
      await spares.clear();
      await rmdirIfEmpty(storageRoot(dataDir));
      await rmdirIfEmpty(join(dataDir, "storage"));
      initialized = undefined;
    },
  };
}

/**
 * Every sandbox id that has anything of ours on this host: a storage dir, a rootfs dir, a
 * mount or a loop device. Names that are not valid ids are not ours and are left alone.
 */
async function findSandboxIds(dataDir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const isId = (name: string | undefined): name is string => name !== undefined && isSandboxId(name);
  const firstSegment = (path: string, root: string) => (isAtOrBelow(path, root) ? relative(root, path).split(sep)[0] : undefined);
  for (const name of await readdir(storageRoot(dataDir)).catch(() => [])) if (isId(name)) ids.add(name);
  for (const name of await readdir(sandboxesRoot(dataDir)).catch(() => [])) {
    if (isId(name) && (await exists(sandboxPaths(dataDir, name).rootfs))) ids.add(name);
  }
  for (const { mountPoint } of await readMounts()) {
    for (const root of [storageRoot(dataDir), sandboxesRoot(dataDir)]) {
      const id = firstSegment(mountPoint, root);
      if (isId(id)) ids.add(id);
    }
  }
  for (const { backingFile } of await listLoopDevices()) {
    const id = firstSegment(backingFile, storageRoot(dataDir));
    if (isId(id)) ids.add(id);
  }
  return ids;
}

/** A handle as persisted by the caller: checked, since it went through a file. */
function parseHandle(handle: Record<string, string | number | undefined>): StorageHandle {
  const { kind, lowerDir, image, diskDir, layers, upperDir, workDir, usernsPath, uidBase } = handle;
  if (kind !== "ext4-image") throw new NodeError("invalid_argument", `unknown storage handle kind ${JSON.stringify(kind)}`);
  if (typeof lowerDir !== "string" || typeof image !== "string" || typeof diskDir !== "string") {
    throw new NodeError("invalid_argument", "storage handle lacks lowerDir, image or diskDir");
  }
  const optional = (name: string, value: unknown): string | undefined => {
    if (value !== undefined && typeof value !== "string") throw new NodeError("invalid_argument", `storage handle has a non-string ${name}`);
    return value;
  };
  const parsed: StorageHandle = { kind, lowerDir, image, diskDir };
  const stacked = optional("layers", layers);
  if (stacked) parsed.layers = stacked;
  const upper = optional("upperDir", upperDir);
  const work = optional("workDir", workDir);
  if ((upper === undefined) !== (work === undefined)) throw new NodeError("invalid_argument", "storage handle has half of upperDir and workDir");
  if (upper && work) Object.assign(parsed, { upperDir: upper, workDir: work });
  if (usernsPath === undefined && uidBase === undefined) return parsed;
  if (typeof usernsPath !== "string" || typeof uidBase !== "number") {
    throw new NodeError("invalid_argument", "storage handle has half of usernsPath and uidBase");
  }
  return { ...parsed, usernsPath, uidBase };
}

function asNodeError(err: unknown, context: string): NodeError {
  if (err instanceof NodeError) return err;
  return new NodeError("runtime_failed", `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function rmdirIfEmpty(path: string): Promise<void> {
  await rmdir(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT" && err.code !== "ENOTEMPTY") throw err;
  });
}

/** Where layer `i` (0 = the template's root) is mounted idmapped; the root keeps its older path, so sandboxes from before adopt unchanged. */
function layerMount(paths: SandboxPaths, i: number): string {
  return i === 0 ? paths.lowerMount : `${paths.lowerMount}-${i}`;
}

/** overlayfs lists lower dirs top first; Cove keeps them bottom first. */
function overlayLowers(bottomFirst: string[]): string {
  return [...bottomFirst].reverse().join(":");
}
