import type { HandlerContext } from "@connectrpc/connect";
import type { ConnectRequest } from "@cove/protocol/process";
import { processEvents } from "./event-stream.js";
import type { ProcessRegistry } from "./registry.js";

/** Connect: attach another stream to a running process (start, live output, end). */
export function createConnect(registry: ProcessRegistry) {
  return async function* connect(req: ConnectRequest, hctx: HandlerContext) {
    const process = registry.get(req.process);
    yield* processEvents(process, process.subscribe(), hctx, { killOnDeadline: false });
  };
}
