import type { Spawner } from "@cove/protocol/spawner";

export interface StorageLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface StorageOptions {
  /**
   * The node's data dir. Storage keeps each sandbox's disk image and its mount point under
   * `${dataDir}/storage/sandboxes/<id>/`, and mounts the sandbox's root at
   * `${dataDir}/sandboxes/<id>/rootfs` (that dir may already exist: the caller keeps
   * config.json etc. beside it). Must be an absolute path without `,` `:` `\` or whitespace,
   * because it ends up inside overlayfs mount options.
   */
  dataDir: string;
  logger?: StorageLogger;
  /** Mounts `source` at `target` idmapped through a user namespace; needed only for prepares with `idmap`. */
  idmapMount?: (usernsPath: string, source: string, target: string, options: { readonly: boolean }) => Promise<void>;
  /**
   * Formatted disk images kept ready (of the size last asked for), so a prepare skips mkfs.
   * Default 0; the node's COVE_SPARE_DISKS.
   */
  spareImages?: number;
  /** Starts its mount, losetup and mkfs commands (the node's cove-spawn helper); Node's child_process without it. */
  spawner?: Spawner;
}

/** What prepare hands back; JSON-serializable so the caller can persist it and adopt after a restart. */
export interface SandboxRootfs {
  sandboxId: string;
  /** The mounted overlay: pass as the OCI root.path. */
  rootfs: string;
  /**
   * A directory on the sandbox's own disk, outside its root filesystem, owned by its root: for
   * files the node binds into the sandbox, so writes to them count against the sandbox's disk.
   */
  filesDir: string;
  /** The writable layer's directory on the host (a template build step's changes are copied from it). */
  upperDir?: string;
  /** The size of the sandbox's disk as asked for; `df` inside shows this less ext4's own overhead. */
  diskBytes: number;
  /** What adopt needs to remount after a host reboot: a StorageHandle, typed loosely because it comes back from JSON. */
  handle: Record<string, string | number | undefined>;
}

/** What this backend puts in SandboxRootfs.handle; `kind` lets a future backend refuse handles it did not make. */
export interface StorageHandle extends Record<string, string | number | undefined> {
  kind: "ext4-image";
  lowerDir: string;
  /** PrepareOptions.layers joined with `:` (paths never contain one). */
  layers?: string;
  /** PrepareOptions.upper's dirs, when the writable layer is not on the sandbox's disk. */
  upperDir?: string;
  workDir?: string;
  image: string;
  diskDir: string;
  /** Set when the lower layer is idmapped through the sandbox's user namespace. */
  usernsPath?: string;
  uidBase?: number;
}

export interface PrepareOptions {
  /** The template's root filesystem: an existing absolute directory, never written to. */
  lowerDir: string;
  /**
   * More read-only layers stacked on `lowerDir`, bottom first (a template's build layers, in
   * overlayfs format: whiteouts are 0:0 character devices). Each is idmapped like `lowerDir`.
   */
  layers?: string[];
  /**
   * The writable layer in these dirs instead of on the sandbox's disk: a template build step
   * whose changes become a layer. `upperDir` must be empty and `workDir` on the same filesystem;
   * release leaves both. Writes there are not capped by `diskBytes` (the disk still holds the
   * node's bound-in files).
   */
  upper?: { upperDir: string; workDir: string };
  /** Disk limit in bytes: writes past it fail with ENOSPC inside the sandbox. */
  diskBytes: number;
  /**
   * The sandbox's own user namespace: the template is mounted idmapped through it (files owned
   * by host root appear owned by `uidBase`), and the writable layer is owned by the mapped ids.
   */
  idmap?: { usernsPath: string; uidBase: number };
}

export interface StorageManager {
  /** Creates the storage dirs and checks the host can do what prepare needs (idempotent). */
  init(): Promise<void>;
  prepare(sandboxId: string, options: PrepareOptions): Promise<SandboxRootfs>;
  /**
   * Unmounts the overlay and the sandbox disk and deletes the disk image. Idempotent: works on
   * half-prepared state and after a restart, with or without the persisted SandboxRootfs.
   */
  release(sandboxId: string, rootfs?: SandboxRootfs): Promise<void>;
  /** After a node restart: remounts whatever of the sandbox's disk and overlay is not mounted, and records it as in use. */
  adopt(rootfs: SandboxRootfs): Promise<void>;
  /** Bytes used on the sandbox's disk (its writable layer). */
  usage(sandboxId: string): Promise<number>;
  /**
   * Releases the storage of sandbox ids that are neither in `keep` nor in use by this manager
   * (crash leftovers); returns the ids removed.
   */
  cleanupOrphans(keep: ReadonlySet<string>): Promise<string[]>;
  /** Removes the storage dirs; refuses while any sandbox is in use (tests). */
  destroy(): Promise<void>;
  /** Stops making spare images and deletes them (the node's shutdown). */
  close(): Promise<void>;
}
