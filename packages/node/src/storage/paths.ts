import { join } from "node:path";

/** Where one sandbox's storage lives; a pure function of the data dir and id, so release needs no persisted state. */
export interface SandboxPaths {
  /** `${dataDir}/storage/sandboxes/<id>`: owned by storage alone. */
  storageDir: string;
  /** Sparse ext4 image: the sandbox's whole disk. */
  image: string;
  /** Where the image is mounted; upper/ and work/ live inside it. */
  diskDir: string;
  upperDir: string;
  workDir: string;
  /** On the sandbox's disk beside upper/: files the node binds into the sandbox (hosts, resolv.conf). */
  filesDir: string;
  /** Where the template is mounted idmapped for a sandbox with its own user namespace. */
  lowerMount: string;
  /** `${dataDir}/sandboxes/<id>`: shared with the caller (config.json etc.). */
  sandboxDir: string;
  /** The overlay mount point, the OCI root.path. */
  rootfs: string;
}

export function storageRoot(dataDir: string): string {
  return join(dataDir, "storage", "sandboxes");
}

export function sandboxesRoot(dataDir: string): string {
  return join(dataDir, "sandboxes");
}

export function sandboxPaths(dataDir: string, sandboxId: string): SandboxPaths {
  const storageDir = join(storageRoot(dataDir), sandboxId);
  const diskDir = join(storageDir, "disk");
  const sandboxDir = join(sandboxesRoot(dataDir), sandboxId);
  return {
    storageDir,
    image: join(storageDir, "disk.ext4"),
    diskDir,
    upperDir: join(diskDir, "upper"),
    workDir: join(diskDir, "work"),
    filesDir: join(diskDir, "files"),
    lowerMount: join(storageDir, "lower"),
    sandboxDir,
    rootfs: join(sandboxDir, "rootfs"),
  };
}
