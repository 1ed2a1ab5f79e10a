import type { ServiceImpl } from "@connectrpc/connect";
import type { Filesystem } from "@cove/protocol/filesystem";
import type { EnvdContext } from "../../context.js";

export interface FilesystemService {
  impl: Partial<ServiceImpl<typeof Filesystem>>;
  /** Stops every watcher this service started. */
  close(): Promise<void>;
}

export function createFilesystemService(_ctx: EnvdContext): FilesystemService {
  return { impl: {}, close: async () => {} };
}
