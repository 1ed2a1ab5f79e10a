import type { UpdateRequest } from "@cove/protocol/process";
import { EnvdError } from "../../errors.js";
import type { ProcessRegistry } from "./registry.js";

/** Update: resize a process's pty; failed_precondition when it has none. */
export function createUpdate(registry: ProcessRegistry) {
  return async function update(req: UpdateRequest) {
    const process = registry.get(req.process);
    const size = req.pty?.size;
    if (!size) return {};
    if (!size.cols || !size.rows) throw new EnvdError("invalid_argument", "pty size needs cols and rows above 0");
    if (!process.isPty) throw new EnvdError("failed_precondition", `process with pid ${process.pid} has no pty`);
    process.resize(size.cols, size.rows);
    return {};
  };
}
