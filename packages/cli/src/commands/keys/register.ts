import type { Command } from "commander";
import { registerKeysCreate } from "./create.js";
import { registerKeysList } from "./list.js";
import { registerKeysRevoke } from "./revoke.js";

/** `cove keys list | create | revoke`, through the native /v1 API. */
export function registerKeysCommands(program: Command): void {
  const keys = program.command("keys").description("manage your team's API keys (E2B_API_URL, E2B_API_KEY)");
  registerKeysList(keys);
  registerKeysCreate(keys);
  registerKeysRevoke(keys);
}
