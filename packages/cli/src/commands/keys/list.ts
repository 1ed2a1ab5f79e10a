import type { Command } from "commander";
import { createNativeClient, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { formatTime, printJson, printTable } from "../../output.js";
import type { KeyRecord } from "./api.js";

interface ListFlags extends ConnectionFlags {
  json: boolean;
}

export function registerKeysList(keys: Command): void {
  withConnectionOptions(
    keys.command("list").alias("ls").description("list your team's API keys and access tokens (revoked ones too)").option("--json", "print JSON", false),
  ).action(async (flags: ListFlags) => {
    const api = createNativeClient(loadClientConfig(flags, process.env));
    const { keys: list } = await api.get<{ keys: KeyRecord[] }>("/v1/keys");
    if (flags.json) return printJson(process.stdout, list);
    printTable(
      process.stdout,
      ["ID", "NAME", "KIND", "PREFIX", "CREATED", "LAST USED", "REVOKED"],
      list.map((k) => [k.id, k.name, k.kind, `${k.prefix}…`, formatTime(k.createdAt), formatTime(k.lastUsedAt), formatTime(k.revokedAt)]),
    );
  });
}
