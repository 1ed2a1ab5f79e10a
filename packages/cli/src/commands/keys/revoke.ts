import type { Command } from "commander";
import { createNativeClient, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";

export function registerKeysRevoke(keys: Command): void {
  withConnectionOptions(
    keys.command("revoke").argument("<id>", "key id (from `cove keys list`)").description("revoke a key: requests with it fail from now on"),
  ).action(async (id: string, flags: ConnectionFlags) => {
    const api = createNativeClient(loadClientConfig(flags, process.env));
    await api.delete(`/v1/keys/${encodeURIComponent(id)}`);
    process.stdout.write(`revoked ${id}\n`);
  });
}
