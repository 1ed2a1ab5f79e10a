import type { Command } from "commander";
import { ENVD_PORT } from "@cove/protocol/envd";

export function registerEnvdCommand(program: Command): void {
  program
    .command("envd")
    .description("run a standalone envd (the in-sandbox daemon) on this host, for development and tests")
    .option("-p, --port <port>", "port to listen on", String(ENVD_PORT))
    .option("--host <host>", "address to bind", "0.0.0.0")
    .option("--root <dir>", "directory that acts as / for files and processes", "/")
    .option("--access-token <token>", "require this X-Access-Token (otherwise only /init sets one)")
    .option("--default-user <name>", "user for requests that name none", "root")
    .option("--default-workdir <dir>", "working directory for processes that name none")
    .option("--log-level <level>", "pino log level", "info")
    .action(async (opts: Record<string, string | undefined>) => {
      const { runEnvd } = await import("@cove/envd");
      await runEnvd({
        port: opts.port,
        host: opts.host,
        root: opts.root,
        accessToken: opts.accessToken,
        defaultUser: opts.defaultUser,
        defaultWorkdir: opts.defaultWorkdir,
        logLevel: opts.logLevel,
      });
    });
}
