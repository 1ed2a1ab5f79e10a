import type { Command } from "commander";
import { Sandbox } from "e2b";
import { callApi, loadClientConfig, sdkOptions, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { printJson } from "../../output.js";
import { collectPairs, parseSeconds } from "./common.js";
import { sandboxJson } from "./list.js";

interface CreateFlags extends ConnectionFlags {
  timeout?: number;
  metadata?: Record<string, string>;
  env?: Record<string, string>;
  json: boolean;
}

export function registerSandboxCreate(sandbox: Command): void {
  withConnectionOptions(
    sandbox
      .command("create")
      .argument("[template]", "template to start from", "base")
      .description("start a sandbox and print its id")
      .option("--timeout <seconds>", "kill the sandbox after this long (default: the server's, 300 s)", parseSeconds)
      .option("--metadata <key=value>", "metadata to attach (repeatable)", collectPairs)
      .option("--env <KEY=VALUE>", "environment variable for commands in the sandbox (repeatable)", collectPairs)
      .option("--json", "print the sandbox as JSON instead of its id", false),
  ).action(async (template: string, flags: CreateFlags) => {
    const config = loadClientConfig(flags, process.env);
    const info = await callApi(config, async () => {
      const sbx = await Sandbox.create(template, {
        ...sdkOptions(config),
        ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout * 1000 } : {}),
        ...(flags.metadata ? { metadata: flags.metadata } : {}),
        ...(flags.env ? { envs: flags.env } : {}),
      });
      return flags.json ? { sandboxId: sbx.sandboxId, info: await sbx.getInfo() } : { sandboxId: sbx.sandboxId };
    });
    if (info.info) printJson(process.stdout, sandboxJson(info.info));
    else process.stdout.write(`${info.sandboxId}\n`);
  });
}
