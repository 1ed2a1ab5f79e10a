import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerEnvdCommand } from "./commands/envd/run.js";
import { registerKeysCommands } from "./commands/keys/register.js";
import { registerNodeCommand } from "./commands/node/run.js";
import { registerPoolCommand } from "./commands/pool/status.js";
import { registerSandboxCommands } from "./commands/sandbox/register.js";
import { registerTemplateCommands } from "./commands/template/build.js";
import { registerTemplateDelete, registerTemplateList } from "./commands/template/list.js";
import { registerTemplateBuilds } from "./commands/template/builds.js";
import { registerUpCommands } from "./commands/up/run.js";
import { guardStdio } from "./stdio.js";

function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Builds the `cove` program. Commands return or throw; errors are printed once, here. */
export function createProgram(): Command {
  const program = new Command("cove")
    .description("Self-hosted sandboxes for untrusted code")
    .version(cliVersion(), "-V, --version")
    .showHelpAfterError()
    .exitOverride();
  registerUpCommands(program);
  registerEnvdCommand(program);
  registerNodeCommand(program);
  registerPoolCommand(program);
  registerTemplateCommands(program);
  const template = program.commands.find((c) => c.name() === "template");
  if (template) {
    registerTemplateList(template);
    registerTemplateDelete(template);
    registerTemplateBuilds(template);
  }
  registerSandboxCommands(program);
  registerKeysCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  guardStdio();
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`cove: ${message}\n`);
    process.exitCode = 1;
  }
}
