import { Signal, type SendSignalRequest } from "@cove/protocol/process";
import { EnvdError } from "../../errors.js";
import type { ProcessRegistry } from "./registry.js";

/** SendSignal: SIGTERM or SIGKILL to the process group. */
export function createSendSignal(registry: ProcessRegistry) {
  return async function sendSignal(req: SendSignalRequest) {
    const process = registry.get(req.process);
    switch (req.signal) {
      case Signal.SIGTERM:
        process.signal("SIGTERM");
        break;
      case Signal.SIGKILL:
        process.signal("SIGKILL");
        break;
      default:
        throw new EnvdError("invalid_argument", "signal must be SIGNAL_SIGTERM or SIGNAL_SIGKILL");
    }
    return {};
  };
}
