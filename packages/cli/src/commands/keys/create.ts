import type { Command } from "commander";
import { createNativeClient, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { printJson } from "../../output.js";
import { KIND_LABEL, type CreatedKeyRecord } from "./api.js";

interface CreateFlags extends ConnectionFlags {
  name?: string;
  accessToken: boolean;
  json: boolean;
}

export function registerKeysCreate(keys: Command): void {
  withConnectionOptions(
    keys
      .command("create")
      .description("create an API key (or access token) for your team; prints the secret, once")
      .option("--name <name>", "a name to tell the key apart")
      .option("--access-token", "create an access token (Authorization: Bearer) instead of an API key", false)
      .option("--json", "print the key as JSON, secret included", false),
  ).action(async (flags: CreateFlags) => {
    const api = createNativeClient(loadClientConfig(flags, process.env));
    const kind = flags.accessToken ? "access_token" : "api_key";
    const key = await api.post<CreatedKeyRecord>("/v1/keys", { kind, ...(flags.name !== undefined ? { name: flags.name } : {}) });
    if (flags.json) printJson(process.stdout, key);
    else process.stdout.write(`${key.secret}\n`);
    // On stderr, so `KEY=$(cove keys create)` captures the secret alone.
    process.stderr.write(`created ${KIND_LABEL[key.kind]} '${key.name}' (${key.id}); the secret is shown only now and cannot be retrieved later\n`);
  });
}
