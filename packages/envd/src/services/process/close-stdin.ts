import type { CloseStdinRequest } from "@cove/protocol/process";
import type { ProcessRegistry } from "./registry.js";

/** CloseStdin: EOF on the stdin pipe; failed_precondition for a pty process. */
export function createCloseStdin(registry: ProcessRegistry) {
  return async function closeStdin(req: CloseStdinRequest) {
    registry.get(req.process).closeStdin();
    return {};
  };
}
