import type { Command } from "commander";
import { registerSandboxCreate } from "./create.js";
import { registerSandboxExec } from "./exec.js";
import { registerSandboxKill } from "./kill.js";
import { registerSandboxList } from "./list.js";
import { registerSandboxMetrics } from "./metrics.js";
import { registerSandboxShell } from "./shell.js";

/** `cove sandbox list | create | kill | exec | shell | metrics`, through the e2b SDK. */
export function registerSandboxCommands(program: Command): void {
  const sandbox = program.command("sandbox").alias("sbx").description("manage sandboxes on a Cove server (E2B_API_URL, E2B_API_KEY)");
  registerSandboxList(sandbox);
  registerSandboxCreate(sandbox);
  registerSandboxKill(sandbox);
  registerSandboxExec(sandbox);
  registerSandboxShell(sandbox);
  registerSandboxMetrics(sandbox);
}
