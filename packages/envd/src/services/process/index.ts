import type { ServiceImpl } from "@connectrpc/connect";
import type { Process } from "@cove/protocol/process";
import type { EnvdContext } from "../../context.js";
import { createCloseStdin } from "./close-stdin.js";
import { createConnect } from "./connect.js";
import { serverStream, unary } from "./handler-errors.js";
import { createList } from "./list.js";
import { createProcessRegistry } from "./registry.js";
import { createSendInput } from "./send-input.js";
import { createSendSignal } from "./send-signal.js";
import { createStart } from "./start.js";
import { createStreamInput } from "./stream-input.js";
import { createUpdate } from "./update.js";

export interface ProcessService {
  impl: Partial<ServiceImpl<typeof Process>>;
  /** Kills every process this service started. */
  close(): Promise<void>;
}

/** How long close() waits for killed processes to be reaped. */
const CLOSE_GRACE_MS = 2_000;

/** process.Process (spec 4.2): processes and PTYs run as the request's OS user. */
export function createProcessService(ctx: EnvdContext): ProcessService {
  const registry = createProcessRegistry();
  return {
    impl: {
      start: serverStream(ctx, "Start", createStart(ctx, registry)),
      connect: serverStream(ctx, "Connect", createConnect(registry)),
      list: unary(ctx, "List", createList(registry)),
      sendInput: unary(ctx, "SendInput", createSendInput(registry)),
      streamInput: unary(ctx, "StreamInput", createStreamInput(registry)),
      closeStdin: unary(ctx, "CloseStdin", createCloseStdin(registry)),
      sendSignal: unary(ctx, "SendSignal", createSendSignal(registry)),
      update: unary(ctx, "Update", createUpdate(registry)),
    },
    close: () => registry.killAll(CLOSE_GRACE_MS),
  };
}
