export { createStorageManager } from "./manager.js";
export { parseMountinfo, type MountEntry } from "./mountinfo.js";
export { minDiskBytes, maxDiskBytes } from "./validate.js";
export type { PrepareOptions, SandboxRootfs, StorageHandle, StorageLogger, StorageManager, StorageOptions } from "./types.js";
