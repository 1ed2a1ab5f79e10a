import type { StreamInputRequest } from "@cove/protocol/process";
import { EnvdError } from "../../errors.js";
import type { ManagedProcess } from "./managed-process.js";
import type { ProcessRegistry } from "./registry.js";
import { writeInput } from "./send-input.js";

/** StreamInput (client streaming): start{process} selects the process, then data events feed it. */
export function createStreamInput(registry: ProcessRegistry) {
  return async function streamInput(requests: AsyncIterable<StreamInputRequest>) {
    let process: ManagedProcess | undefined;
    for await (const req of requests) {
      const event = req.event;
      switch (event.case) {
        case "start":
          process = registry.get(event.value.process);
          break;
        case "data":
          if (!process) throw new EnvdError("invalid_argument", "the first StreamInput event must be start");
          writeInput(process, event.value.input);
          break;
        default:
          // keepalive, or an event this envd does not know: nothing to do.
          break;
      }
    }
    return {};
  };
}
