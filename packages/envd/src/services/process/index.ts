import type { ServiceImpl } from "@connectrpc/connect";
import type { Process } from "@cove/protocol/process";
import type { EnvdContext } from "../../context.js";

export interface ProcessService {
  impl: Partial<ServiceImpl<typeof Process>>;
  /** Kills every process this service started. */
  close(): Promise<void>;
}

export function createProcessService(_ctx: EnvdContext): ProcessService {
  return { impl: {}, close: async () => {} };
}
