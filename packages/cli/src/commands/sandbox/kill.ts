import type { Command } from "commander";
import { Sandbox } from "e2b";
import { callApi, loadClientConfig, sdkOptions, withConnectionOptions, type ConnectionFlags } from "../../client.js";

export function registerSandboxKill(sandbox: Command): void {
  withConnectionOptions(
    sandbox.command("kill").argument("<id...>", "sandboxes to kill").description("kill sandboxes (running or paused); prints each id killed"),
  ).action(async (ids: string[], flags: ConnectionFlags) => {
    const config = loadClientConfig(flags, process.env);
    const missing: string[] = [];
    for (const id of ids) {
      const killed = await callApi(config, () => Sandbox.kill(id, sdkOptions(config)));
      if (killed) process.stdout.write(`${id}\n`);
      else missing.push(id);
    }
    if (missing.length === 1) throw new Error(`sandbox ${missing[0]} not found`);
    if (missing.length > 1) throw new Error(`sandboxes ${missing.join(", ")} not found`);
  });
}
