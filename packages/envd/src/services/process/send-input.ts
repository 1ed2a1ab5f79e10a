import type { ProcessInput, SendInputRequest } from "@cove/protocol/process";
import { EnvdError } from "../../errors.js";
import type { ManagedProcess } from "./managed-process.js";
import type { ProcessRegistry } from "./registry.js";

/** SendInput: bytes to a process's stdin pipe or pty. */
export function createSendInput(registry: ProcessRegistry) {
  return async function sendInput(req: SendInputRequest) {
    writeInput(registry.get(req.process), req.input);
    return {};
  };
}

export function writeInput(process: ManagedProcess, input: ProcessInput | undefined): void {
  const target = input?.input;
  switch (target?.case) {
    case "stdin":
      process.writeStdin(target.value);
      return;
    case "pty":
      process.writePty(target.value);
      return;
    default:
      throw new EnvdError("invalid_argument", "input must be stdin or pty bytes");
  }
}
